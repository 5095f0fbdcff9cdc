namespace PgHa.Callbacks;

/// <summary>How one run of a callback command ended.</summary>
/// <param name="Name">The setting that ran (<c>on_start</c>, <c>pre_promote</c>, …).</param>
/// <param name="ExitCode">Its exit status; null when it could not be started.</param>
/// <param name="Killed">True when PgHa killed it (it ran past its bound, or a newer callback replaced it).</param>
/// <param name="Duration">From start to exit (or to the kill).</param>
/// <param name="Error">Why it could not be started, when it could not.</param>
public sealed record CallbackOutcome(string Name, int? ExitCode, bool Killed, TimeSpan Duration, string? Error = null)
{
    /// <summary>It ran to the end and exited with status 0.</summary>
    public bool Succeeded => ExitCode == 0 && !Killed;

    /// <summary>A short description for logs and plans: "exited with 1", "killed after 30 s", "could not start: …".</summary>
    public string Describe() =>
        Error is not null ? "could not start: " + Error
        : Killed ? $"killed after {Duration.TotalSeconds:0.###} s"
        : $"exited with {ExitCode} after {Duration.TotalSeconds:0.###} s";
}
