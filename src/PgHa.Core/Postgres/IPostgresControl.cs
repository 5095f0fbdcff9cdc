using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

/// <summary>
/// The HA loop's port to the local PostgreSQL. The real implementation drives pg_ctl, initdb, pg_basebackup and
/// pg_rewind and queries through Npgsql; the simulator has its own. Every call honours its token.
/// </summary>
public interface IPostgresControl
{
    /// <summary>Observes the data directory and the running server (role, timeline, WAL position, upstream).</summary>
    Task<PostgresStatus> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs initdb (or the configured bootstrap method), leaving a stopped primary: it is started only after the leader
    /// lock is taken and the write fence armed, so it never accepts a write without the lock.
    /// </summary>
    Task BootstrapAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates the data directory with the replica creation methods (<c>create_replica_methods</c>: pg_basebackup from
    /// <paramref name="source"/>, or a custom command such as a backup restore), trying the next method when one fails,
    /// and leaves it configured as a replica of <paramref name="source"/> (not started). Null
    /// <paramref name="source"/>: no member to clone from; only methods that work without one (<c>no_leader</c>) run,
    /// and the replica has no upstream yet.
    /// </summary>
    Task CreateReplicaAsync(Member? source, CancellationToken cancellationToken);

    /// <summary>Starts a stopped former primary in place, as a primary (crash recovery while holding the lock).</summary>
    Task StartPrimaryAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes PostgreSQL run as a replica of <paramref name="upstream"/> (null: no upstream): writes standby.signal and
    /// primary_conninfo, rewinds a diverged former primary when needed, starts or reloads.
    /// </summary>
    Task FollowAsync(Member? upstream, CancellationToken cancellationToken);

    /// <summary>Promotes the replica and waits until it accepts writes (then issues a CHECKPOINT).</summary>
    Task PromoteAsync(CancellationToken cancellationToken);

    /// <summary>Stops PostgreSQL the way <paramref name="mode"/> requires (fast with checkpoint, or immediate).</summary>
    Task StopForDemoteAsync(DemoteMode mode, CancellationToken cancellationToken);

    /// <summary>
    /// Arms (or moves) the write fence: once <paramref name="until"/> has passed without the fence being moved again,
    /// PostgreSQL must not run as a primary — a running primary is stopped immediately, by a mechanism that does not
    /// depend on this agent being alive, and <see cref="StartPrimaryAsync"/> and <see cref="PromoteAsync"/> refuse —
    /// until the fence is re-armed or disarmed. Null disarms it (a replica needs no fence).
    /// </summary>
    Task SetWriteFenceAsync(DateTimeOffset? until, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the local replication slots match <paramref name="plan"/> (see <see cref="ReplicationSlots"/>): creates the
    /// missing ones, drops inactive unknown ones unless <c>ignore_slots</c> protects them, drops and recreates a slot
    /// whose type, database or plugin differs, and moves replicas' copies forward to their
    /// <see cref="DesiredSlot.AdvanceTo"/>. Works on a primary and on a standby (physical slots). A slot that cannot be
    /// created, dropped or advanced is logged and retried next time; only an unreachable server throws. Returns every
    /// slot's position afterwards (physical: <c>restart_lsn</c>, logical: <c>confirmed_flush_lsn</c>; empty when
    /// PostgreSQL does not run).
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> SyncReplicationSlotsAsync(ReplicationSlotPlan plan, CancellationToken cancellationToken);

    /// <summary>
    /// Sets <c>synchronous_standby_names</c> to <paramref name="value"/> (null: back to the configured parameters) in a
    /// way that survives restarts and agent restarts, and makes a running server apply it. Returns the primary's WAL
    /// flush position read after the server applied it (null when PostgreSQL does not run as a primary): a standby
    /// newly named counts as synchronous only once it has flushed that far.
    /// </summary>
    Task<long?> SetSynchronousStandbyNamesAsync(string? value, CancellationToken cancellationToken);

    /// <summary>The timeline history of the running primary (<c>&lt;timeline&gt;.history</c>), oldest first.</summary>
    Task<IReadOnlyList<TimelineHistoryEntry>> ReadTimelineHistoryAsync(int timeline, CancellationToken cancellationToken);

    /// <summary>
    /// Standby cluster bootstrap: creates the data directory from the remote primary of <paramref name="remote"/> with
    /// the section's <c>create_replica_methods</c> (default <c>basebackup</c>: <c>pg_basebackup</c> from its host and
    /// port with the replication credentials) and leaves it configured to follow that remote (not started).
    /// </summary>
    Task CreateReplicaFromRemoteAsync(StandbyClusterConfig remote, CancellationToken cancellationToken);

    /// <summary>
    /// Makes PostgreSQL run as a replica of the remote primary of <paramref name="remote"/>: standby.signal,
    /// <c>primary_conninfo</c> to its host and port, its <c>primary_slot_name</c>, <c>restore_command</c>,
    /// <c>archive_cleanup_command</c> and <c>recovery_min_apply_delay</c>; reloads a running replica or starts a stopped
    /// data directory (a stopped former primary included). Refuses a running primary. Records
    /// <see cref="StandbyClusterConfig.UpstreamName"/> as the upstream.
    /// </summary>
    Task FollowRemotePrimaryAsync(StandbyClusterConfig remote, CancellationToken cancellationToken);
}
