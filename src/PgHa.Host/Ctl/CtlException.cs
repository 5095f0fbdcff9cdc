namespace PgHa.Host.Ctl;

/// <summary>
/// A <c>pgha ctl</c> command cannot go on. The message is printed as <c>Error: …</c> (as patronictl does) and should
/// say what to do next; the process exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class CtlException : Exception
{
    /// <summary>Creates the error.</summary>
    public CtlException(string message, int exitCode = 1) : base(message) => ExitCode = exitCode;

    /// <summary>Creates the error.</summary>
    public CtlException() : this("pgha ctl failed") { }

    /// <summary>Creates the error.</summary>
    public CtlException(string message, Exception innerException) : base(message, innerException) => ExitCode = 1;

    /// <summary>The process exit code (1 unless said otherwise).</summary>
    public int ExitCode { get; }
}
