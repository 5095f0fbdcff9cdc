namespace PgHa.Dcs;

/// <summary>The cluster keys written with <see cref="IDcs.TryWriteAsync"/>. The leader lock and member keys have their own methods because they carry a TTL.</summary>
public enum ClusterKey
{
    /// <summary><c>initialize</c>: the system identifier; created once by the bootstrap race winner.</summary>
    Initialize,
    /// <summary><c>config</c>: dynamic configuration.</summary>
    Config,
    /// <summary><c>failover</c>: pending switchover/failover request.</summary>
    Failover,
    /// <summary><c>sync</c>: synchronous replication state.</summary>
    Sync,
    /// <summary><c>history</c>: timeline history.</summary>
    History,
    /// <summary><c>status</c>: leader optime and slots.</summary>
    Status,
    /// <summary><c>failsafe</c>: members known to the leader.</summary>
    Failsafe,
}
