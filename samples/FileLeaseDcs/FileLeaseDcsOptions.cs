namespace PgHa.Samples.FileLeaseDcs;

/// <summary>Where the shared directory is and how long to wait for it.</summary>
public sealed class FileLeaseDcsOptions
{
    /// <summary>The shared directory (must exist: a missing mount is an unreachable DCS, not an empty one).</summary>
    public string Directory { get; set; } = "";

    /// <summary>Patroni's <c>namespace</c>: a sub-directory of <see cref="Directory"/>.</summary>
    public string Namespace { get; set; } = "service";

    /// <summary>The cluster scope.</summary>
    public string Scope { get; set; } = "";

    /// <summary>The member this connection acts for.</summary>
    public string Name { get; set; } = "";

    /// <summary>How long one operation may wait for the directory's lock file (what retry_timeout gives).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often <c>WaitForChangeAsync</c> looks at the state file (there is no change notification).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The largest difference between the clocks of the nodes sharing the directory. Expiry instants are wall-clock times
    /// written by one node and judged by another, so the lock is guaranteed for ttl minus this.
    /// </summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>One message per bad setting; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Directory)) problems.Add("Directory: the shared directory is required.");
        if (string.IsNullOrWhiteSpace(Scope) || Scope.Contains('/', StringComparison.Ordinal)) problems.Add($"Scope: '{Scope}' must be non-empty and without '/'.");
        if (string.IsNullOrWhiteSpace(Name) || Name.Contains('/', StringComparison.Ordinal)) problems.Add($"Name: '{Name}' must be non-empty and without '/'.");
        if (Namespace is null || Namespace.Contains('/', StringComparison.Ordinal) || Namespace.Contains("..", StringComparison.Ordinal)) problems.Add($"Namespace: '{Namespace}' must not contain '/' or '..'.");
        if (RequestTimeout <= TimeSpan.Zero) problems.Add($"RequestTimeout: {RequestTimeout} must be positive.");
        if (PollInterval <= TimeSpan.Zero) problems.Add($"PollInterval: {PollInterval} must be positive.");
        if (MaxClockSkew < TimeSpan.Zero) problems.Add($"MaxClockSkew: {MaxClockSkew} must not be negative.");
        return problems;
    }
}
