using System.Collections.Immutable;
using System.Text;

namespace PgHa.Postgres;

/// <summary>
/// Splits a configured command into program and arguments the way Patroni does (Python's <c>shlex.split</c>, POSIX
/// mode), without ever invoking a shell: blanks separate words; <c>'…'</c> keeps everything literally; inside
/// <c>"…"</c> a backslash escapes only <c>"</c> and <c>\</c>; outside quotes a backslash escapes any character;
/// quoted and unquoted parts next to each other form one word; <c>''</c> is an empty word. No variables, globs,
/// pipes or redirections: <c>$HOME</c>, <c>*</c>, <c>|</c> and <c>;</c> are ordinary characters.
/// </summary>
public static class CommandLine
{
    /// <summary>Splits <paramref name="command"/>.</summary>
    /// <exception cref="FormatException">An unterminated quote, a trailing backslash, or no words at all.</exception>
    public static ImmutableArray<string> Split(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var words = ImmutableArray.CreateBuilder<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            switch (c)
            {
                case ' ' or '\t' or '\r' or '\n':
                    if (inWord) words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    break;
                case '\'':
                {
                    var end = command.IndexOf('\'', i + 1);
                    if (end < 0) throw new FormatException($"no closing quotation: the single quote at position {i + 1} is never closed");
                    word.Append(command, i + 1, end - i - 1);
                    inWord = true;
                    i = end;
                    break;
                }
                case '"':
                {
                    var start = i;
                    for (i++; ; i++)
                    {
                        if (i >= command.Length) throw new FormatException($"no closing quotation: the double quote at position {start + 1} is never closed");
                        var q = command[i];
                        if (q == '"') break;
                        if (q == '\\' && i + 1 < command.Length && command[i + 1] is '"' or '\\') q = command[++i];
                        word.Append(q);
                    }
                    inWord = true;
                    break;
                }
                case '\\':
                    if (i + 1 >= command.Length) throw new FormatException("no escaped character: the command ends with a backslash");
                    word.Append(command[++i]);
                    inWord = true;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        if (words.Count == 0) throw new FormatException("the command is empty");
        return words.ToImmutable();
    }
}
