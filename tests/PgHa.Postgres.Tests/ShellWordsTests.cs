namespace PgHa.Postgres.Tests;

/// <summary>Commands of replica and bootstrap methods are split into words as shlex.split (Patroni) splits them.</summary>
[TestFixture]
public sealed class ShellWordsTests
{
    [TestCase("/usr/bin/pgbackrest --stanza=main --delta restore", new[] { "/usr/bin/pgbackrest", "--stanza=main", "--delta", "restore" })]
    [TestCase("  spaced\t out  ", new[] { "spaced", "out" })]
    [TestCase("restore --from 'last night'", new[] { "restore", "--from", "last night" })]
    [TestCase("echo \"a \\\"quoted\\\" \\$word\"", new[] { "echo", "a \"quoted\" $word" })]
    [TestCase("echo \"keep \\n as is\"", new[] { "echo", "keep \\n as is" })]
    [TestCase("a\\ b c", new[] { "a b", "c" })]
    [TestCase("x'y'\"z\"", new[] { "xyz" })]
    [TestCase("empty '' arg", new[] { "empty", "", "arg" })]
    [TestCase("", new string[0])]
    public void Splits(string commandLine, string[] expected) =>
        Assert.That(ShellWords.Split(commandLine), Is.EqualTo(expected));

    [TestCase("restore 'unterminated", "unterminated single quote")]
    [TestCase("restore \"unterminated", "unterminated double quote")]
    [TestCase("restore \\", "trailing backslash")]
    public void RejectsBrokenQuoting(string commandLine, string problem) =>
        Assert.That(() => ShellWords.Split(commandLine), Throws.InstanceOf<FormatException>().With.Message.Contains(problem));
}
