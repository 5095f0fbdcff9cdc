namespace PgHa.Operations;

/// <summary>
/// <c>POST /restart</c>'s conditions (Patroni's restart filters). Every condition given must hold, or nothing is restarted.
/// </summary>
public sealed record RestartRequest
{
    /// <summary>Only restart a node in this role: <c>primary</c> (alias <c>master</c>) or <c>replica</c>; null = any.</summary>
    public string? Role { get; init; }
    /// <summary>Only restart when the running server is older than this <c>server_version_num</c> (e.g. 150004); null = any.</summary>
    public int? PostgresVersionBelow { get; init; }
    /// <summary>The text the version condition was given as (shown back in <c>scheduled_restart</c>).</summary>
    public string? PostgresVersionText { get; init; }
    /// <summary>Only restart when a parameter change waits for a restart.</summary>
    public bool RestartPending { get; init; }
    /// <summary>How long to wait for the restart to finish before answering (Patroni's <c>timeout</c>); null = until it is done.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>When to restart; null = now.</summary>
    public DateTimeOffset? Schedule { get; init; }
}

/// <summary>The outcome of an operator action: whether it happened, and Patroni's sentence for it.</summary>
/// <param name="Succeeded">True when the action was done (or started, for asynchronous ones).</param>
/// <param name="Message">What to tell the operator.</param>
public readonly record struct OperationResult(bool Succeeded, string Message);

/// <summary>A restart waiting for its time (published as <c>scheduled_restart</c>).</summary>
/// <param name="Request">The conditions and the time.</param>
/// <param name="PostmasterStartTime">When the postmaster had started at scheduling; a restart meanwhile cancels the schedule.</param>
public sealed record ScheduledRestart(RestartRequest Request, DateTimeOffset? PostmasterStartTime);
