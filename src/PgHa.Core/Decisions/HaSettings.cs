using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// The settings one HA cycle decides with: dynamic configuration from the <c>config</c> key merged with the node's
/// local settings. Build it with <see cref="From"/>; validate timing with <see cref="HaTiming.Validate"/>.
/// </summary>
public sealed record HaSettings
{
    /// <summary>This node's member name.</summary>
    public required string MemberName { get; init; }
    /// <summary>Leader lock and member key lifetime.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>HA cycle period.</summary>
    public TimeSpan LoopWait { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Deadline of one DCS or PostgreSQL operation.</summary>
    public TimeSpan RetryTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Replicas further behind the leader's last optime may not race.</summary>
    public long MaximumLagOnFailover { get; init; } = 1048576;
    /// <summary>How long a crashed primary holding the lock may take to come back before failing over.</summary>
    public TimeSpan PrimaryStartTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Maintenance mode: nothing automatic.</summary>
    public bool Pause { get; init; }
    /// <summary>A replica on an older timeline than the cluster may not race.</summary>
    public bool CheckTimeline { get; init; }
    /// <summary><c>synchronous_mode</c>: only synchronous standbys (or the former leader) may be promoted.</summary>
    public bool SynchronousMode { get; init; }
    /// <summary><c>synchronous_mode_strict</c>: with no synchronous standby, commits wait instead of going asynchronous.</summary>
    public bool SynchronousModeStrict { get; init; }
    /// <summary><c>synchronous_node_count</c> (default 1): how many synchronous standbys the leader keeps.</summary>
    public int SynchronousNodeCount { get; init; } = 1;
    /// <summary><c>maximum_lag_on_syncnode</c> (≤ 0: off): standbys lagging further are not made synchronous.</summary>
    public long MaximumLagOnSyncnode { get; init; } = -1;
    /// <summary>This node may bootstrap a new cluster (a <c>bootstrap</c> section is configured).</summary>
    public bool CanBootstrap { get; init; } = true;
    /// <summary>
    /// A replica creation method of this node works without a member to clone from (<c>no_leader</c>): with an
    /// initialized cluster and no leader, an empty node creates its data directory anyway (a restore from a backup).
    /// </summary>
    public bool CanCreateReplicaWithoutLeader { get; init; }
    /// <summary>This node's tags.</summary>
    public MemberTags Tags { get; init; } = MemberTags.Empty;
    /// <summary>
    /// The active <c>standby_cluster</c> section, or null: the lock holder then is a standby leader following the remote
    /// primary, nothing is promoted and synchronous mode is off.
    /// </summary>
    public StandbyClusterConfig? StandbyCluster { get; init; }
    /// <summary><c>postgresql.use_slots</c> (default true): the leader keeps a physical slot per member.</summary>
    public bool UseSlots { get; init; } = true;
    /// <summary>Permanent slots and <c>ignore_slots</c>.</summary>
    public ReplicationSlotsConfig Slots { get; init; } = ReplicationSlotsConfig.None;
    /// <summary>
    /// How long before the lock's guaranteed validity runs out a primary stops accepting writes. Covers timer slop and
    /// the time to stop PostgreSQL, so that no two nodes ever accept writes at the same moment.
    /// </summary>
    public TimeSpan FenceSafetyMargin { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary><c>failsafe_mode</c>: with the DCS unreachable, the leader keeps running while every member confirms it.</summary>
    public bool FailsafeMode { get; init; }

    /// <summary>Merges the cluster's dynamic configuration with local settings.</summary>
    public static HaSettings From(GlobalConfig config, string memberName, MemberTags tags, bool canBootstrap = true, TimeSpan? fenceSafetyMargin = null) => new()
    {
        MemberName = memberName,
        Ttl = TimeSpan.FromSeconds(config.Ttl),
        LoopWait = TimeSpan.FromSeconds(config.LoopWait),
        RetryTimeout = TimeSpan.FromSeconds(config.RetryTimeout),
        MaximumLagOnFailover = config.MaximumLagOnFailover,
        PrimaryStartTimeout = TimeSpan.FromSeconds(config.PrimaryStartTimeout),
        Pause = config.Pause,
        // A standby cluster has no writes of its own to protect: Patroni ignores synchronous mode there.
        SynchronousMode = config.SynchronousMode && !config.IsStandbyCluster,
        SynchronousModeStrict = config.SynchronousModeStrict && !config.IsStandbyCluster,
        SynchronousNodeCount = config.SynchronousNodeCount,
        MaximumLagOnSyncnode = config.MaximumLagOnSyncnode,
        CheckTimeline = config.CheckTimeline,
        FailsafeMode = config.FailsafeMode,
        StandbyCluster = config.IsStandbyCluster ? config.StandbyCluster : null,
        UseSlots = config.UseSlots,
        Slots = config.Slots,
        CanBootstrap = canBootstrap,
        Tags = tags,
        FenceSafetyMargin = fenceSafetyMargin ?? TimeSpan.FromSeconds(1),
    };
}
