using PgHa.Cluster.Serialization;

namespace PgHa.Dcs;

/// <summary>Maps <see cref="ClusterKey"/> to the relative key name adapters store it under.</summary>
public static class ClusterKeyNames
{
    /// <summary>The relative key name, for example <c>failover</c>.</summary>
    public static string Of(ClusterKey key) => key switch
    {
        ClusterKey.Initialize => ClusterKeys.Initialize,
        ClusterKey.Config => ClusterKeys.Config,
        ClusterKey.Failover => ClusterKeys.Failover,
        ClusterKey.Sync => ClusterKeys.Sync,
        ClusterKey.History => ClusterKeys.History,
        ClusterKey.Status => ClusterKeys.Status,
        ClusterKey.Failsafe => ClusterKeys.Failsafe,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a cluster key"),
    };
}
