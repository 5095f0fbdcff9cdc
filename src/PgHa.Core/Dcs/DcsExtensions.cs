using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Dcs;

/// <summary>Typed writes of the cluster keys, serialized exactly as Patroni writes them.</summary>
public static class DcsExtensions
{
    /// <summary>The bootstrap race: create <c>initialize</c> with <paramref name="systemId"/> (usually <c>""</c>) if absent.</summary>
    public static Task<bool> TryInitializeAsync(this IDcs dcs, string systemId, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Initialize, systemId, WriteCondition.IfAbsent, cancellationToken);

    /// <summary>Writes the dynamic configuration.</summary>
    public static Task<bool> TrySetConfigAsync(this IDcs dcs, GlobalConfig config, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Config, ConfigCodec.Serialize(config), condition, cancellationToken);

    /// <summary>Writes a failover request; <see cref="FailoverRequest.Cleared"/> writes <c>{}</c>.</summary>
    public static Task<bool> TrySetFailoverAsync(this IDcs dcs, FailoverRequest request, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Failover, FailoverCodec.Serialize(request), condition, cancellationToken);

    /// <summary>Writes the synchronous replication state (always with CAS in Patroni's protocol).</summary>
    public static Task<bool> TrySetSyncStateAsync(this IDcs dcs, SyncState state, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Sync, SyncCodec.Serialize(state), condition, cancellationToken);

    /// <summary>Writes the timeline history.</summary>
    public static Task<bool> TrySetHistoryAsync(this IDcs dcs, TimelineHistory history, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.History, HistoryCodec.Serialize(history), condition, cancellationToken);

    /// <summary>Writes the leader status (optime and slots).</summary>
    public static Task<bool> TrySetStatusAsync(this IDcs dcs, ClusterStatus status, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Status, StatusCodec.Serialize(status), condition, cancellationToken);

    /// <summary>Writes the failsafe member map.</summary>
    public static Task<bool> TrySetFailsafeAsync(this IDcs dcs, FailsafeMembers failsafe, WriteCondition condition, CancellationToken cancellationToken) =>
        dcs.TryWriteAsync(ClusterKey.Failsafe, FailsafeCodec.Serialize(failsafe), condition, cancellationToken);
}
