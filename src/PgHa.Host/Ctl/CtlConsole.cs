namespace PgHa.Host.Ctl;

/// <summary>
/// The terminal <c>pgha ctl</c> talks to: output, errors and the answers to its questions. Injected so tests can answer
/// confirmations and read what was printed.
/// </summary>
public interface ICtlConsole
{
    /// <summary>Where results go (stdout).</summary>
    TextWriter Out { get; }

    /// <summary>Where errors go (stderr).</summary>
    TextWriter Error { get; }

    /// <summary>True when <see cref="Out"/> is a terminal (watch mode then clears the screen between refreshes).</summary>
    bool IsTerminal { get; }

    /// <summary>One line of input without its line break, or null at the end of input.</summary>
    string? ReadLine();
}

/// <summary>The process's own console.</summary>
public sealed class SystemCtlConsole : ICtlConsole
{
    /// <inheritdoc />
    public TextWriter Out => Console.Out;

    /// <inheritdoc />
    public TextWriter Error => Console.Error;

    /// <inheritdoc />
    public bool IsTerminal => !Console.IsOutputRedirected;

    /// <inheritdoc />
    public string? ReadLine() => Console.In.ReadLine();
}

/// <summary>patronictl's (click's) prompts: <c>Question [y/N]: </c> and <c>Question [default]: </c>.</summary>
public static class CtlPrompts
{
    /// <summary>Asks a yes/no question; an empty answer is <paramref name="defaultAnswer"/>. End of input aborts.</summary>
    public static bool Confirm(ICtlConsole console, string question, bool defaultAnswer = false)
    {
        ArgumentNullException.ThrowIfNull(console);
        while (true)
        {
            console.Out.Write($"{question} [{(defaultAnswer ? "Y/n" : "y/N")}]: ");
            console.Out.Flush();
            var answer = console.ReadLine();
            if (answer is null)
            {
                console.Out.WriteLine();
                throw new CtlException("Aborted! No answer on standard input; run with --force to skip the questions.");
            }
            switch (answer.Trim().ToLowerInvariant())
            {
                case "y" or "yes": return true;
                case "n" or "no": return false;
                case "": return defaultAnswer;
                default: console.Error.WriteLine("Error: invalid input"); break;
            }
        }
    }

    /// <summary>
    /// Asks for a value; an empty answer is <paramref name="defaultValue"/> (shown in brackets). Without a default the
    /// question is repeated until something is typed. End of input aborts.
    /// </summary>
    public static string Prompt(ICtlConsole console, string question, string? defaultValue = null)
    {
        ArgumentNullException.ThrowIfNull(console);
        while (true)
        {
            console.Out.Write(defaultValue is null ? $"{question}: " : $"{question} [{defaultValue}]: ");
            console.Out.Flush();
            var answer = console.ReadLine();
            if (answer is null)
            {
                console.Out.WriteLine();
                throw new CtlException("Aborted! No answer on standard input; pass the value as an option (see --help) or run with --force.");
            }
            if (answer.Length > 0) return answer;
            if (defaultValue is not null) return defaultValue;
        }
    }
}
