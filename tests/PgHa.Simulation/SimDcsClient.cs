using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Simulation;

/// <summary>
/// One agent incarnation's DCS connection: every request travels the simulated network (latency, cuts, lost replies)
/// to the <see cref="SimDcsStore"/>. An unreachable DCS never answers; the loop's retry_timeout deadline ends the wait.
/// </summary>
public sealed class SimDcsClient(SimScheduler scheduler, SimActor actor, SimDcsStore store, SimNetwork network, int node, string memberName) : IDcs
{
    /// <inheritdoc />
    public string MemberName => memberName;

    /// <inheritdoc />
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl;

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken) =>
        Call(() => ClusterStateReader.Read(store.ReadAll()), cancellationToken);

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken) =>
        Call(() => store.Acquire(memberName, ttl), cancellationToken);

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken) =>
        Call(() => store.Renew(memberName, held, ttl), cancellationToken);

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) => Call(() => store.Release(memberName), cancellationToken);

    /// <inheritdoc />
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var json = MemberCodec.Serialize(self);
        return Call(() => { store.Touch(memberName, json, ttl); return true; }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken) =>
        Call(() => store.Write(ClusterKeyNames.Of(key), value, condition), cancellationToken);

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken) =>
        Call(() => store.Delete(ClusterKeyNames.Of(key), condition), cancellationToken);

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) => throw new NotSupportedException("not used by the HA loop");

    /// <inheritdoc />
    public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<bool>();
        Action? watch = null;
        if (network.CanReachDcs(node))
        {
            watch = () => scheduler.After(network.DcsLatency(), actor, () => tcs.TrySetResult(true));
            store.OnNextChange(watch);
        }
        scheduler.After(timeout, actor, () =>
        {
            if (watch is not null) store.CancelWatch(watch);
            tcs.TrySetResult(false);
        });
        cancellationToken.Register(() =>
        {
            if (watch is not null) store.CancelWatch(watch);
            tcs.TrySetCanceled(cancellationToken);
        });
        return tcs.Task;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<T> Call<T>(Func<T> op, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<T>();
        ct.Register(() => tcs.TrySetCanceled(ct));
        if (!network.CanReachDcs(node)) return tcs.Task;
        scheduler.After(network.DcsLatency(), actor, () =>
        {
            // Cut while in flight: the request never arrives.
            if (!network.CanReachDcs(node)) return; // a request may still land after its sender gave up, as in reality
            var result = op();
            if (network.LoseReply() || !network.CanReachDcs(node)) return;
            scheduler.After(network.DcsLatency(), actor, () => tcs.TrySetResult(result));
        });
        return tcs.Task;
    }
}
