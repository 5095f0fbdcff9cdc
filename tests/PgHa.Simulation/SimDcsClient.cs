using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Testing;

namespace PgHa.Simulation;

/// <summary>
/// One agent incarnation's DCS connection: the shipped <see cref="InMemoryDcs"/> (the semantics every adapter must
/// have) behind the simulated network. Requests and replies take latency, can be lost or cut off, and complete on the
/// agent's own actor, so a stopped agent sees nothing until it continues. An unreachable DCS never answers; the
/// loop's retry_timeout deadline ends the wait.
/// </summary>
public sealed class SimDcsClient(SimScheduler scheduler, SimActor actor, InMemoryDcs dcs, SimNetwork network, int node, bool brokenAcquire) : IDcs
{
    /// <inheritdoc />
    public string MemberName => dcs.MemberName;

    /// <inheritdoc />
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => dcs.GuaranteedLockValidity(ttl);

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken) => Call(c => dcs.LoadClusterAsync(c), cancellationToken);

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken) => Call(c =>
    {
        // Planted bug for the checker's teeth: the DCS hands out a lock that someone else still holds.
        if (brokenAcquire && dcs.Store.PeekLeader(dcs.Prefix) is { } held && held.Holder != MemberName)
            dcs.Store.ReleaseLeader(dcs.Prefix, held.Holder);
        return dcs.TryAcquireLeaderLockAsync(ttl, c);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken) =>
        Call(c => dcs.TryRenewLeaderLockAsync(held, ttl, c), cancellationToken);

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) => Call(c => dcs.ReleaseLeaderLockAsync(c), cancellationToken);

    /// <inheritdoc />
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken) =>
        Call(async c => { await dcs.TouchMemberAsync(self, ttl, c).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken) =>
        Call(c => dcs.TryWriteAsync(key, value, condition, c), cancellationToken);

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken) =>
        Call(c => dcs.TryDeleteAsync(key, condition, c), cancellationToken);

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) => Call(async c => { await dcs.DeleteClusterAsync(c).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<bool>();
        // Without a connection no change notification can arrive: just wait out the timeout.
        var inner = network.CanReachDcs(node) ? dcs.WaitForChangeAsync(timeout, cancellationToken) : Task.FromResult(false);
        if (!inner.IsCompleted || inner.Result) DeliverOnActor(inner, tcs, inner.IsCompleted ? TimeSpan.Zero : network.DcsLatency());
        else scheduler.After(timeout, actor, () => tcs.TrySetResult(false));
        cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken));
        return tcs.Task;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => dcs.DisposeAsync();

    private void DeliverOnActor<T>(Task<T> inner, TaskCompletionSource<T> tcs, TimeSpan latency) =>
        inner.ContinueWith(t => scheduler.After(latency, actor, () =>
        {
            if (t.IsCanceled) tcs.TrySetCanceled();
            else if (t.IsFaulted) tcs.TrySetException(t.Exception!.InnerExceptions);
            else tcs.TrySetResult(t.Result);
        }), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private Task<T> Call<T>(Func<CancellationToken, Task<T>> op, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<T>();
        ct.Register(() => tcs.TrySetCanceled(ct));
        if (!network.CanReachDcs(node)) return tcs.Task;
        scheduler.After(network.DcsLatency(), actor, () =>
        {
            // Cut while in flight: the request never arrives. A request may still land after its sender gave up,
            // as in reality, so the operation runs even when the caller's deadline has passed.
            if (!network.CanReachDcs(node)) return;
            var result = op(CancellationToken.None);
            if (network.LoseReply() || !network.CanReachDcs(node)) return;
            DeliverOnActor(result, tcs, network.DcsLatency());
        });
        return tcs.Task;
    }
}
