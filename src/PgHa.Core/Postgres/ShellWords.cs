using System.Text;

namespace PgHa.Postgres;

/// <summary>
/// Splits a configured command line into words the way POSIX shells (and Python's <c>shlex.split</c>, which Patroni
/// uses) do: whitespace separates words, single quotes keep everything literally, double quotes keep everything but
/// <c>\"</c>, <c>\\</c>, <c>\$</c> and <c>\`</c>, a backslash outside quotes escapes the next character. No variable
/// expansion, no globbing: the command is run directly, never through a shell.
/// </summary>
public static class ShellWords
{
    /// <summary>The words of <paramref name="commandLine"/>.</summary>
    /// <exception cref="FormatException">An unterminated quote or a trailing backslash; the message says which.</exception>
    public static IReadOnlyList<string> Split(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < commandLine.Length; i++)
        {
            var c = commandLine[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord) words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    break;
                case '\'':
                {
                    var end = commandLine.IndexOf('\'', i + 1);
                    if (end < 0) throw new FormatException($"unterminated single quote in command '{commandLine}'");
                    word.Append(commandLine, i + 1, end - i - 1);
                    i = end;
                    inWord = true;
                    break;
                }
                case '"':
                {
                    var j = i + 1;
                    for (; j < commandLine.Length && commandLine[j] != '"'; j++)
                    {
                        if (commandLine[j] == '\\' && j + 1 < commandLine.Length && commandLine[j + 1] is '"' or '\\' or '$' or '`')
                            j++;
                        word.Append(commandLine[j]);
                    }
                    if (j >= commandLine.Length) throw new FormatException($"unterminated double quote in command '{commandLine}'");
                    i = j;
                    inWord = true;
                    break;
                }
                case '\\':
                    if (i + 1 >= commandLine.Length) throw new FormatException($"trailing backslash in command '{commandLine}'");
                    word.Append(commandLine[++i]);
                    inWord = true;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
