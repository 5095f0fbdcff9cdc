namespace PgHa.Cluster;

/// <summary>
/// The <c>config</c> key: the cluster-wide dynamic configuration. Typed properties carry Patroni's defaults; the JSON
/// as read is kept in <see cref="RawJson"/> so keys PgHa does not model (PostgreSQL parameters, slots, …) survive
/// every read-modify-write.
/// </summary>
public sealed record GlobalConfig
{
    /// <summary><c>ttl</c> in seconds (default 30): lifetime of the leader lock and member keys.</summary>
    public int Ttl { get; init; } = 30;
    /// <summary><c>loop_wait</c> in seconds (default 10): HA cycle period.</summary>
    public int LoopWait { get; init; } = 10;
    /// <summary><c>retry_timeout</c> in seconds (default 10): deadline of DCS and PostgreSQL operations.</summary>
    public int RetryTimeout { get; init; } = 10;
    /// <summary><c>maximum_lag_on_failover</c> in bytes (default 1 MiB): replicas further behind may not race.</summary>
    public long MaximumLagOnFailover { get; init; } = 1048576;
    /// <summary>
    /// <c>maximum_lag_on_syncnode</c> in bytes (default -1 = off): when &gt; 0, a standby further behind the most advanced
    /// one (the primary, with a single standby) is not chosen as synchronous standby.
    /// </summary>
    public long MaximumLagOnSyncnode { get; init; } = -1;
    /// <summary><c>primary_start_timeout</c> (alias <c>master_start_timeout</c>) in seconds (default 300).</summary>
    public int PrimaryStartTimeout { get; init; } = 300;
    /// <summary><c>primary_stop_timeout</c> (alias <c>master_stop_timeout</c>) in seconds (default 0 = none).</summary>
    public int PrimaryStopTimeout { get; init; }
    /// <summary><c>synchronous_mode</c>.</summary>
    public bool SynchronousMode { get; init; }
    /// <summary><c>synchronous_mode_strict</c>.</summary>
    public bool SynchronousModeStrict { get; init; }
    /// <summary><c>synchronous_node_count</c> (default 1).</summary>
    public int SynchronousNodeCount { get; init; } = 1;
    /// <summary><c>failsafe_mode</c>.</summary>
    public bool FailsafeMode { get; init; }
    /// <summary><c>check_timeline</c>.</summary>
    public bool CheckTimeline { get; init; }
    /// <summary><c>pause</c>: maintenance mode, nothing automatic.</summary>
    public bool Pause { get; init; }
    /// <summary><c>max_timelines_history</c> (0 = keep all).</summary>
    public int MaxTimelinesHistory { get; init; }
    /// <summary><c>postgresql.use_pg_rewind</c>.</summary>
    public bool UsePgRewind { get; init; }
    /// <summary><c>postgresql.use_slots</c> (default true).</summary>
    public bool UseSlots { get; init; } = true;
    /// <summary>
    /// <c>standby_cluster</c>: null unless the section is present (see <see cref="StandbyClusterConfig.IsActive"/>).
    /// A view of <see cref="RawJson"/>: serialization keeps the section exactly as the JSON has it.
    /// </summary>
    public StandbyClusterConfig? StandbyCluster { get; init; }
    /// <summary>
    /// <c>slots</c> (permanent replication slots) and <c>ignore_slots</c>. A view of <see cref="RawJson"/>: serialization
    /// keeps both keys exactly as the JSON has them.
    /// </summary>
    public ReplicationSlotsConfig Slots { get; init; } = ReplicationSlotsConfig.None;
    /// <summary>True when <c>standby_cluster</c> makes this a standby cluster.</summary>
    public bool IsStandbyCluster => StandbyCluster is { IsActive: true };
    /// <summary>CAS token of the key.</summary>
    public DcsVersion Version { get; init; }
    /// <summary>The JSON object as read (or as built), the source of truth for every key not modelled above.</summary>
    public string RawJson { get; init; } = "{}";

    /// <summary>Patroni's default configuration.</summary>
    public static GlobalConfig Default { get; } = new();
}
