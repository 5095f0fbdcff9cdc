using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Operations;

namespace PgHa.AspNetCore;

/// <summary>
/// What the REST API knows about this node: the last HA cycle and the agent's memory. Health endpoints answer from
/// this snapshot alone, so they stay fast while the DCS or PostgreSQL hangs.
/// </summary>
/// <param name="Scope">Cluster name.</param>
/// <param name="Identity">This node's identity.</param>
/// <param name="Settings">The settings of the last cycle.</param>
/// <param name="Memory">The agent's memory.</param>
/// <param name="LastCycle">The last completed cycle, or null before the first.</param>
/// <param name="AgentVersion">Version reported in <c>patroni.version</c>.</param>
public sealed record NodeSnapshot(string Scope, NodeIdentity Identity, HaSettings Settings, HaMemory Memory, HaCycleResult? LastCycle, string AgentVersion)
{
    /// <summary>A restart scheduled through <c>POST /restart</c>, if any.</summary>
    public ScheduledRestart? ScheduledRestart { get; init; }

    /// <summary><c>watchdog.mode: required</c> and the watchdog cannot be used: shown as <c>watchdog_failed</c>, and peers skip this node.</summary>
    public bool WatchdogFailed { get; init; }

    /// <summary>The PostgreSQL state as last observed.</summary>
    public PostgresStatus Postgres => LastCycle?.Postgres ?? PostgresStatus.Uninitialized;

    /// <summary>
    /// This node holds the leader lock: its last confirmation guarantees the lock until later than <paramref name="now"/>
    /// (Patroni: lock renewed less than ttl ago).
    /// </summary>
    public bool IsLeader(DateTimeOffset now) => Memory.LockValidUntil is { } until && now < until && Memory.HeldLock is not null;

    /// <summary>
    /// This node is the leader of a standby cluster: it holds the lock (<see cref="IsLeader"/>), the cluster has an
    /// active <c>standby_cluster</c> section, and PostgreSQL is not a primary.
    /// </summary>
    public bool IsStandbyLeader(DateTimeOffset now) => IsLeader(now) && Settings.StandbyCluster is not null && !Postgres.IsRunningPrimary;

    /// <summary>The cluster is in maintenance mode.</summary>
    public bool IsPaused => Settings.Pause;

    /// <summary>Synchronous mode is on and this node is listed as a synchronous standby in the <c>sync</c> key.</summary>
    public bool IsSyncStandby => LastCycle?.Cluster is { IsSynchronousModeActive: true, Sync: { } sync }
                                 && sync.Leader != Identity.Name && sync.SyncStandbys.Contains(Identity.Name);
}
