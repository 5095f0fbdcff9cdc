namespace PgHa.Operations;

/// <summary>
/// What an operator may ask of one node through its REST API besides the DCS keys: restart, reload, reinitialize, and
/// waking the HA loop after a DCS key was written. Every action is serialised with the HA loop's own PostgreSQL work
/// (one background action at a time), as Patroni's async executor does.
/// </summary>
public interface INodeOperations
{
    /// <summary>Runs the next HA cycle now (after <c>/config</c> or <c>/failover</c> was written).</summary>
    void Wake();

    /// <summary>
    /// Restarts PostgreSQL now if <paramref name="request"/>'s conditions hold, and waits for the result (bounded by the
    /// request's timeout and <paramref name="cancellationToken"/>). Patroni's messages: "restarted successfully",
    /// "restart conditions are not satisfied", "&lt;action&gt; already in progress", "postgres is still starting", "restart failed".
    /// </summary>
    Task<OperationResult> RestartAsync(RestartRequest request, CancellationToken cancellationToken);

    /// <summary>Records a restart for <see cref="RestartRequest.Schedule"/>; false when another one is scheduled.</summary>
    bool ScheduleRestart(RestartRequest request);

    /// <summary>Cancels the scheduled restart; false when none was scheduled.</summary>
    bool CancelScheduledRestart();

    /// <summary>The scheduled restart, if any.</summary>
    ScheduledRestart? ScheduledRestart { get; }

    /// <summary>
    /// Starts wiping and re-cloning this node from the leader. Null when started; otherwise why not (Patroni's
    /// messages: "Cluster has no leader, can not reinitialize", "I am the leader, can not reinitialize",
    /// "&lt;action&gt; already in progress"). With <paramref name="force"/> a running background action (a restart, a
    /// clone, …) is cancelled first, as Patroni's <c>{"force": true}</c> does.
    /// </summary>
    Task<string?> ReinitializeAsync(bool force, CancellationToken cancellationToken);

    /// <summary>Asks PostgreSQL to reload its configuration on the next cycle (and re-applies dynamic parameters).</summary>
    void ReloadPostgres();
}
