using PgHa.Cluster;

namespace PgHa.Callbacks;

/// <summary>
/// The HA loop's port to the user's commands around PostgreSQL events. The real implementation is
/// <see cref="PostgresCallbacks"/>; the simulator and tests have their own. The loop decides when each runs and what
/// bound applies; the port only runs them.
/// </summary>
public interface IPostgresCallbacks
{
    /// <summary>
    /// Starts the asynchronous callback for <paramref name="action"/> (if one is configured) with the role PostgreSQL
    /// now has, and returns at once. A still-running earlier callback is killed first.
    /// </summary>
    void Notify(CallbackAction action, MemberRole role);

    /// <summary>
    /// Runs <c>pre_promote</c> and waits for it, at most <paramref name="limit"/> (then it is killed). Null when none is
    /// configured; otherwise the promotion may go ahead only when the outcome <see cref="CallbackOutcome.Succeeded"/>.
    /// </summary>
    Task<CallbackOutcome?> RunPrePromoteAsync(TimeSpan limit, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <c>before_stop</c> and waits for it, at most <paramref name="limit"/> (then it is killed). Null when none is
    /// configured. The outcome is only reported: the stop goes ahead whatever it is.
    /// </summary>
    Task<CallbackOutcome?> RunBeforeStopAsync(TimeSpan limit, CancellationToken cancellationToken);
}
