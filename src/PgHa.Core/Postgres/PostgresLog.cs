using Microsoft.Extensions.Logging;

namespace PgHa.Postgres;

/// <summary>
/// Stable event ids of the PostgreSQL controller's log events (3100–3199, inside PgHa's 3xxx "PostgreSQL actions"
/// range; see <see cref="Logging.PgHaEventId"/>).
/// </summary>
public static partial class PostgresEventId
{
    /// <summary>initdb is running.</summary>
    public const int Bootstrapping = 3100;
    /// <summary>initdb finished; the new primary is left stopped.</summary>
    public const int Bootstrapped = 3101;
    /// <summary>The post_bootstrap script ran.</summary>
    public const int PostBootstrap = 3102;
    /// <summary>pg_basebackup started.</summary>
    public const int CloneStarted = 3103;
    /// <summary>pg_basebackup or pg_rewind progress.</summary>
    public const int Progress = 3104;
    /// <summary>pg_basebackup finished.</summary>
    public const int Cloned = 3105;
    /// <summary>pg_basebackup failed; the partial copy was removed.</summary>
    public const int CloneFailed = 3106;
    /// <summary>PostgreSQL is being started.</summary>
    public const int Starting = 3107;
    /// <summary>PostgreSQL started.</summary>
    public const int Started = 3108;
    /// <summary>A start or promotion was refused because the write fence has tripped.</summary>
    public const int RefusedByFence = 3109;
    /// <summary>A promotion started.</summary>
    public const int Promoting = 3110;
    /// <summary>A promotion finished (after its CHECKPOINT).</summary>
    public const int Promoted = 3111;
    /// <summary>PostgreSQL is being stopped.</summary>
    public const int Stopping = 3112;
    /// <summary>PostgreSQL stopped.</summary>
    public const int Stopped = 3113;
    /// <summary>pg_ctl stop failed: the postmaster and its children were killed.</summary>
    public const int Killed = 3114;
    /// <summary>Replication was (re)configured to follow an upstream.</summary>
    public const int Following = 3115;
    /// <summary>The outcome of the divergence check against the upstream.</summary>
    public const int DivergenceChecked = 3116;
    /// <summary>The divergence check could not be done.</summary>
    public const int DivergenceUnknown = 3117;
    /// <summary>pg_rewind started.</summary>
    public const int RewindStarted = 3118;
    /// <summary>No divergence check: the data directory is a pg_basebackup of the upstream taken since.</summary>
    public const int DivergenceCheckSkipped = 3160;
    /// <summary>pg_rewind finished.</summary>
    public const int Rewound = 3119;
    /// <summary>pg_rewind failed (or was not allowed) on a diverged data directory.</summary>
    public const int RewindFailed = 3120;
    /// <summary>The data directory was removed (to be cloned again).</summary>
    public const int DataDirectoryRemoved = 3121;
    /// <summary>The write fence was armed or moved.</summary>
    public const int FenceArmed = 3122;
    /// <summary>The write fence was disarmed.</summary>
    public const int FenceDisarmed = 3123;
    /// <summary>The fencer process was started.</summary>
    public const int FencerStarted = 3124;
    /// <summary>The agent saw the write fence tripped.</summary>
    public const int FenceTripped = 3125;
    /// <summary>The postmaster exited without the controller stopping it.</summary>
    public const int PostmasterDied = 3126;
    /// <summary>A replication slot was created.</summary>
    public const int SlotCreated = 3127;
    /// <summary>A replication slot was dropped.</summary>
    public const int SlotDropped = 3128;
    /// <summary>A running postmaster did not answer a status query.</summary>
    public const int NotAnswering = 3129;
    /// <summary>The configuration was reloaded.</summary>
    public const int Reloaded = 3130;
    /// <summary>Waiting for a postmaster that runs but does not answer yet.</summary>
    public const int WaitingForPostmaster = 3131;
    /// <summary>The replication and rewind roles were created or updated after bootstrap.</summary>
    public const int RolesCreated = 3132;
    /// <summary>The lock file of a dead (zombie) postmaster was removed so a restart need not wait for init to reap it.</summary>
    public const int StaleLockRemoved = 3133;
    /// <summary>The CHECKPOINT before a graceful stop finished (or failed; the stop goes ahead).</summary>
    public const int CheckpointBeforeStop = 3134;
    /// <summary>
    /// The divergence check of a running replica could not read its replay timeline with IDENTIFY_SYSTEM and used a
    /// less exact one (the WAL receiver's or the last restartpoint's).
    /// </summary>
    public const int LocalTimelineFallback = 3140;
    /// <summary>The divergence check waits for a standby upstream (a leader not promoted yet) to get a fork point.</summary>
    public const int WaitingForUpstreamPromotion = 3141;
}

internal static partial class PostgresLog
{
    [LoggerMessage(EventId = PostgresEventId.Bootstrapping, Level = LogLevel.Information, Message = "bootstrapping a new cluster: initdb {DataDirectory} (options: {Options})")]
    public static partial void Bootstrapping(ILogger logger, string dataDirectory, string options);

    [LoggerMessage(EventId = PostgresEventId.Bootstrapped, Level = LogLevel.Information, Message = "initdb done in {Elapsed}: system identifier {SystemId}; left stopped until the leader lock is taken and the write fence armed")]
    public static partial void Bootstrapped(ILogger logger, TimeSpan elapsed, string? systemId);

    [LoggerMessage(EventId = PostgresEventId.PostBootstrap, Level = LogLevel.Information, Message = "post_bootstrap {Script} finished with exit status {ExitCode} after the first start of the new primary")]
    public static partial void PostBootstrap(ILogger logger, string script, int exitCode);

    [LoggerMessage(EventId = PostgresEventId.CloneStarted, Level = LogLevel.Information, Message = "creating a replica of {Source} ({Host}:{Port}) with pg_basebackup {Arguments}")]
    public static partial void CloneStarted(ILogger logger, string source, string host, int port, string arguments);

    [LoggerMessage(EventId = PostgresEventId.Progress, Level = LogLevel.Information, Message = "{Operation}: {DoneKb}/{TotalKb} kB ({Percent}%)")]
    public static partial void Progress(ILogger logger, string operation, long doneKb, long totalKb, int percent);

    [LoggerMessage(EventId = PostgresEventId.Cloned, Level = LogLevel.Information, Message = "replica of {Source} created in {Elapsed}; configured to stream from it (not started)")]
    public static partial void Cloned(ILogger logger, string source, TimeSpan elapsed);

    [LoggerMessage(EventId = PostgresEventId.CloneFailed, Level = LogLevel.Error, Message = "pg_basebackup from {Source} failed ({Error}); removed the partial copy")]
    public static partial void CloneFailed(ILogger logger, string source, string error);

    [LoggerMessage(EventId = PostgresEventId.Starting, Level = LogLevel.Information, Message = "starting PostgreSQL as a {Role}: {Why}")]
    public static partial void Starting(ILogger logger, string role, string why);

    [LoggerMessage(EventId = PostgresEventId.Started, Level = LogLevel.Information, Message = "PostgreSQL started as a {Role} (postmaster pid {Pid}) in {Elapsed}")]
    public static partial void Started(ILogger logger, string role, int pid, TimeSpan elapsed);

    [LoggerMessage(EventId = PostgresEventId.RefusedByFence, Level = LogLevel.Warning, Message = "refusing to {Action}: the write fence has expired, so this node may not run a primary until the lock is confirmed again")]
    public static partial void RefusedByFence(ILogger logger, string action);

    [LoggerMessage(EventId = PostgresEventId.Promoting, Level = LogLevel.Information, Message = "promoting the replica (pg_promote), then CHECKPOINT so the new timeline is in pg_control for pg_rewind")]
    public static partial void Promoting(ILogger logger);

    [LoggerMessage(EventId = PostgresEventId.Promoted, Level = LogLevel.Information, Message = "promoted to primary on timeline {Timeline} in {Elapsed}")]
    public static partial void Promoted(ILogger logger, int timeline, TimeSpan elapsed);

    [LoggerMessage(EventId = PostgresEventId.CheckpointBeforeStop, Level = LogLevel.Information, Message = "CHECKPOINT before the graceful stop took {Elapsed}{Problem}")]
    public static partial void CheckpointBeforeStop(ILogger logger, TimeSpan elapsed, string problem);

    [LoggerMessage(EventId = PostgresEventId.Stopping, Level = LogLevel.Information, Message = "stopping PostgreSQL ({Mode} shutdown) for demote mode {DemoteMode}")]
    public static partial void Stopping(ILogger logger, string mode, string demoteMode);

    [LoggerMessage(EventId = PostgresEventId.Stopped, Level = LogLevel.Information, Message = "PostgreSQL stopped in {Elapsed}")]
    public static partial void Stopped(ILogger logger, TimeSpan elapsed);

    [LoggerMessage(EventId = PostgresEventId.Killed, Level = LogLevel.Warning, Message = "the postmaster did not stop ({Error}); sent SIGKILL to postmaster {Pid} and its children")]
    public static partial void Killed(ILogger logger, int pid, string error);

    [LoggerMessage(EventId = PostgresEventId.Following, Level = LogLevel.Information, Message = "configured to follow {Upstream} (primary_conninfo host {Host} port {Port}, slot {Slot}); {Then}")]
    public static partial void Following(ILogger logger, string upstream, string? host, int? port, string? slot, string then);

    [LoggerMessage(EventId = PostgresEventId.DivergenceChecked, Level = LogLevel.Information, Message = "divergence check against {Upstream}: local timeline {LocalTimeline} (from {TimelineSource}) at {LocalLsn} (in recovery: {InRecovery}), upstream timeline {UpstreamTimeline}: {Reason} → {Verdict}")]
    public static partial void DivergenceChecked(ILogger logger, string upstream, int localTimeline, string timelineSource, string localLsn, bool inRecovery, int upstreamTimeline, string reason, string verdict);

    [LoggerMessage(EventId = PostgresEventId.LocalTimelineFallback, Level = LogLevel.Warning, Message = "could not ask this replica for its replay timeline over a replication connection ({Error}); the divergence check uses the {Source} timeline {Timeline}, which may ask for a needless pg_rewind. Let the replication user {User} connect from {Host} in pg_hba.conf")]
    public static partial void LocalTimelineFallback(ILogger logger, string error, string source, int timeline, string host, string user);

    [LoggerMessage(EventId = PostgresEventId.WaitingForUpstreamPromotion, Level = LogLevel.Information, Message = "divergence check against {Upstream} waits up to {Timeout} for its promotion: {Reason}")]
    public static partial void WaitingForUpstreamPromotion(ILogger logger, string upstream, string reason, TimeSpan timeout);

    [LoggerMessage(EventId = PostgresEventId.DivergenceCheckSkipped, Level = LogLevel.Information, Message = "no divergence check against {Upstream}: this data directory is its pg_basebackup, taken since this agent started; following it")]
    public static partial void DivergenceCheckSkipped(ILogger logger, string upstream);

    [LoggerMessage(EventId = PostgresEventId.DivergenceUnknown, Level = LogLevel.Warning, Message = "could not check whether this data directory diverged from {Upstream} ({Error}); following without rewind")]
    public static partial void DivergenceUnknown(ILogger logger, string upstream, string error);

    [LoggerMessage(EventId = PostgresEventId.RewindStarted, Level = LogLevel.Information, Message = "running pg_rewind from {Upstream} ({Why})")]
    public static partial void RewindStarted(ILogger logger, string upstream, string why);

    [LoggerMessage(EventId = PostgresEventId.Rewound, Level = LogLevel.Information, Message = "pg_rewind from {Upstream} finished in {Elapsed}: {Outcome}")]
    public static partial void Rewound(ILogger logger, string upstream, TimeSpan elapsed, string outcome);

    [LoggerMessage(EventId = PostgresEventId.RewindFailed, Level = LogLevel.Error, Message = "the data directory diverged from {Upstream} and could not be rewound ({Error}); {Then}")]
    public static partial void RewindFailed(ILogger logger, string upstream, string error, string then);

    [LoggerMessage(EventId = PostgresEventId.DataDirectoryRemoved, Level = LogLevel.Warning, Message = "removed the data directory {DataDirectory}: {Why}")]
    public static partial void DataDirectoryRemoved(ILogger logger, string dataDirectory, string why);

    [LoggerMessage(EventId = PostgresEventId.FenceArmed, Level = LogLevel.Debug, Message = "write fence moved to {Until:o} ({Remaining} from now)")]
    public static partial void FenceArmed(ILogger logger, DateTimeOffset until, TimeSpan remaining);

    [LoggerMessage(EventId = PostgresEventId.FenceDisarmed, Level = LogLevel.Debug, Message = "write fence disarmed")]
    public static partial void FenceDisarmed(ILogger logger);

    [LoggerMessage(EventId = PostgresEventId.FencerStarted, Level = LogLevel.Information, Message = "started the fencer process (pid {Pid}) guarding {DataDirectory}; it stops a primary whose lock was not confirmed in time, even if this agent is frozen or dead")]
    public static partial void FencerStarted(ILogger logger, int pid, string dataDirectory);

    [LoggerMessage(EventId = PostgresEventId.FenceTripped, Level = LogLevel.Warning, Message = "the write fence has tripped (deadline {Deadline} passed): PostgreSQL may not run as a primary until the lock is confirmed again")]
    public static partial void FenceTripped(ILogger logger, string deadline);

    [LoggerMessage(EventId = PostgresEventId.PostmasterDied, Level = LogLevel.Warning, Message = "the postmaster (pid {Pid}) exited without being asked to (noticed via {How})")]
    public static partial void PostmasterDied(ILogger logger, int pid, string how);

    [LoggerMessage(EventId = PostgresEventId.SlotCreated, Level = LogLevel.Information, Message = "created {Type} replication slot {Slot}")]
    public static partial void SlotCreated(ILogger logger, string slot, string type);

    [LoggerMessage(EventId = PostgresEventId.SlotDropped, Level = LogLevel.Information, Message = "dropped replication slot {Slot}: {Why}")]
    public static partial void SlotDropped(ILogger logger, string slot, string why);

    [LoggerMessage(EventId = PostgresEventId.NotAnswering, Level = LogLevel.Information, Message = "the postmaster (pid {Pid}) runs but does not answer ({Error}); reporting it as not running")]
    public static partial void NotAnswering(ILogger logger, int pid, string error);

    [LoggerMessage(EventId = PostgresEventId.Reloaded, Level = LogLevel.Information, Message = "configuration reloaded: {Why}")]
    public static partial void Reloaded(ILogger logger, string why);

    [LoggerMessage(EventId = PostgresEventId.StaleLockRemoved, Level = LogLevel.Information, Message = "the previous postmaster (pid {Pid}) is dead but not yet reaped; removed its postmaster.pid so the restart does not wait")]
    public static partial void StaleLockRemoved(ILogger logger, int pid);

    [LoggerMessage(EventId = PostgresEventId.RolesCreated, Level = LogLevel.Information, Message = "created the replication role {Replication} and the rewind role {Rewind} for the new cluster")]
    public static partial void RolesCreated(ILogger logger, string replication, string rewind);

    [LoggerMessage(EventId = PostgresEventId.WaitingForPostmaster, Level = LogLevel.Information, Message = "the postmaster (pid {Pid}) is running but not answering yet; waiting up to {Timeout} instead of starting another")]
    public static partial void WaitingForPostmaster(ILogger logger, int pid, TimeSpan timeout);
}
