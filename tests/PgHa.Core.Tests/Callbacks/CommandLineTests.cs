using NUnit.Framework;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Postgres;

namespace PgHa.Core.Tests.Callbacks;

/// <summary>Commands are split as Python's shlex.split does (POSIX mode), which is what Patroni runs them with.</summary>
[TestFixture]
public sealed class CommandLineTests
{
    [TestCase("/x/cb.sh", new[] { "/x/cb.sh" })]
    [TestCase("  /x/cb.sh   --flag\tvalue \n", new[] { "/x/cb.sh", "--flag", "value" })]
    [TestCase("/x/cb.sh 'two words' \"and three more\"", new[] { "/x/cb.sh", "two words", "and three more" })]
    [TestCase("a'b c'd", new[] { "ab cd" })]
    [TestCase("a '' b", new[] { "a", "", "b" })]
    [TestCase(@"'it\s' ""x\""y"" ""a\b""", new[] { @"it\s", "x\"y", @"a\b" })]
    [TestCase(@"""a\\b"" c\ d \$HOME", new[] { @"a\b", "c d", "$HOME" })]
    [TestCase("echo $HOME *.sh | wc ; rm", new[] { "echo", "$HOME", "*.sh", "|", "wc", ";", "rm" })]
    [TestCase("'single \"double\" inside'", new[] { "single \"double\" inside" })]
    public void SplitsLikeShlex(string command, string[] expected) =>
        Assert.That(CommandLine.Split(command), Is.EqualTo(expected));

    [TestCase("/x/cb.sh 'open", "single quote at position 10")]
    [TestCase("/x/cb.sh \"open", "double quote at position 10")]
    [TestCase("/x/cb.sh \\", "ends with a backslash")]
    [TestCase("   ", "empty")]
    public void RejectsWhatShlexRejects(string command, string because) =>
        Assert.That(() => CommandLine.Split(command), Throws.TypeOf<FormatException>().With.Message.Contains(because));

    [Test]
    public void OptionsNameTheSettingWhoseCommandCannotBeSplit()
    {
        var options = new CallbackOptions { Scope = "batman", OnRoleChange = "/x/cb.sh 'oops", BeforeStop = "fine" };
        Assert.That(options.Validate(), Is.EqualTo(new[] { "callbacks.on_role_change: '/x/cb.sh 'oops' cannot be split into a command: no closing quotation: the single quote at position 10 is never closed" }));
        Assert.That(() => new PostgresCallbacks(options, TimeProvider.System), Throws.ArgumentException.With.Message.Contains("callbacks.on_role_change"));
    }

    [Test]
    public void RolesAreReportedAsPatroniPassesThem()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PostgresCallbacks.RoleArgument(MemberRole.Promoted), Is.EqualTo("master"));
            Assert.That(PostgresCallbacks.RoleArgument(MemberRole.Primary), Is.EqualTo("master"));
            Assert.That(PostgresCallbacks.RoleArgument(MemberRole.Replica), Is.EqualTo("replica"));
            Assert.That(PostgresCallbacks.RoleArgument(MemberRole.StandbyLeader), Is.EqualTo("standby_leader"));
            Assert.That(PostgresCallbacks.RoleArgument(MemberRole.Demoted), Is.EqualTo("demoted"));
        }
    }
}
