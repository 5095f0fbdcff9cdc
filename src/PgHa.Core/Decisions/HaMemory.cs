using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// What the agent remembers between cycles. Immutable: the loop replaces it after each cycle, and the decider reads it
/// as an input like everything else.
/// </summary>
public sealed record HaMemory
{
    /// <summary>The lock as last acquired or renewed by this node.</summary>
    public LeaderLock? HeldLock { get; init; }
    /// <summary>
    /// Until when the lock is guaranteed to be ours: send time of the last successful acquire/renew plus the DCS's
    /// guaranteed validity. The write fence is armed at this instant minus the safety margin.
    /// </summary>
    public DateTimeOffset? LockValidUntil { get; init; }
    /// <summary>
    /// Version of a leader lock this node has released (or tried to). Such a lock is never renewed or served under
    /// again, because the release may still land; the node waits for the key to go and takes a fresh lock if it should.
    /// </summary>
    public DcsVersion? AbandonedLock { get; init; }
    /// <summary>The background action in progress, if any.</summary>
    public BusyAction? Busy { get; init; }
    /// <summary>When a crashed primary was restarted in place while holding the lock (for <c>primary_start_timeout</c>).</summary>
    public DateTimeOffset? CrashRecoveryStartedAt { get; init; }
    /// <summary>The last start of a crashed primary in place failed: the lock must go to someone who can serve.</summary>
    public bool PrimaryStartFailed { get; init; }
    /// <summary>Members seen in the last cluster view that had a leader: the candidate set of the next race.</summary>
    public ImmutableArray<string> MembersWhenLastLocked { get; init; } = ImmutableArray<string>.Empty;
    /// <summary>Last time a DCS call succeeded.</summary>
    public DateTimeOffset? LastDcsContact { get; init; }
    /// <summary>
    /// Parameters PostgreSQL only applies at the next restart changed (<c>pending_restart</c> in pg_settings), with
    /// each one's running and configured value; empty when nothing waits for a restart.
    /// </summary>
    public ImmutableArray<PendingParameter> PendingRestart { get; init; } = ImmutableArray<PendingParameter>.Empty;

    /// <summary>
    /// The primary's flush position when <c>synchronous_standby_names</c> was last set (synchronous mode); null until
    /// this agent set it.
    /// </summary>
    public SynchronousStandbyBaseline? SyncBaseline { get; init; }

    /// <summary>
    /// When <c>pre_promote</c> last failed and the lock was given back: for ttl after it this node does not race for
    /// the lock again (Patroni's back-off), so another node gets its chance.
    /// </summary>
    public DateTimeOffset? PrePromoteFailedAt { get; init; }
    /// <summary>Failsafe mode: the topology to confirm, the last confirmation, a promise given to a leader.</summary>
    public FailsafeMemory Failsafe { get; init; } = FailsafeMemory.Empty;

    /// <summary>A freshly started agent.</summary>
    public static HaMemory Initial { get; } = new();
}
