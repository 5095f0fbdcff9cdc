using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Testing;

namespace PgHa.Core.Tests.Dcs;

/// <summary>What <see cref="InMemoryDcs"/> promises beyond the conformance suite: synchronous completion, partitions, its wake baseline.</summary>
[TestFixture]
public sealed class InMemoryDcsTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        _time = new FakeTimeProvider();
        _store = new InMemoryDcsStore(_time);
    }

    [Test]
    public void EveryOperationButWaitingCompletesSynchronously()
    {
        var dcs = Connect("node1");
        var ct = CancellationToken.None;
        var acquire = dcs.TryAcquireLeaderLockAsync(Ttl, ct);

        Task[] tasks =
        [
            dcs.LoadClusterAsync(ct),
            acquire,
            dcs.TryRenewLeaderLockAsync(acquire.Result!, Ttl, ct),
            dcs.TouchMemberAsync(new Member("node1"), Ttl, ct),
            dcs.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.Always, ct),
            dcs.TryDeleteAsync(ClusterKey.Config, WriteCondition.Always, ct),
            dcs.ReleaseLeaderLockAsync(ct),
            dcs.DeleteClusterAsync(ct),
        ];

        Assert.That(tasks.Select(t => t.IsCompletedSuccessfully), Is.All.True);
    }

    [Test]
    public async Task APartitionFailsCallsAndHealingItRestoresTheSameState()
    {
        var dcs = Connect("node1");
        Assert.That(await dcs.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None), Is.Not.Null);

        dcs.Reachable = false;
        Assert.That(async () => await dcs.LoadClusterAsync(CancellationToken.None), Throws.TypeOf<DcsUnavailableException>());
        Assert.That(async () => await dcs.WaitForChangeAsync(Ttl, CancellationToken.None), Throws.TypeOf<DcsUnavailableException>());

        dcs.Reachable = true;
        Assert.That((await dcs.LoadClusterAsync(CancellationToken.None)).LeaderName, Is.EqualTo("node1"));
    }

    [Test]
    public void CancellationWinsOverAPartition()
    {
        var dcs = Connect("node1");
        dcs.Reachable = false;

        var load = dcs.LoadClusterAsync(new CancellationToken(canceled: true));

        Assert.That(load.IsCanceled, Is.True);
    }

    [Test]
    public async Task AChangeBetweenLoadingAndWaitingWakesTheWaitAtOnce()
    {
        var watcher = Connect("node1");
        var writer = Connect("node2");
        await watcher.LoadClusterAsync(CancellationToken.None);
        await writer.TryWriteAsync(ClusterKey.Failover, """{"member":"node2"}""", WriteCondition.Always, CancellationToken.None);

        var woken = watcher.WaitForChangeAsync(Ttl, CancellationToken.None);

        Assert.That(woken.IsCompletedSuccessfully && woken.Result, Is.True);
    }

    [Test]
    public async Task LoadingMovesTheWakeBaselineForward()
    {
        var watcher = Connect("node1");
        var writer = Connect("node2");
        await writer.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.Always, CancellationToken.None);
        await watcher.LoadClusterAsync(CancellationToken.None);

        var woken = watcher.WaitForChangeAsync(Ttl, CancellationToken.None);

        Assert.That(woken.IsCompleted, Is.False, "the change was seen by the load");
        _time.Advance(Ttl);
        Assert.That(woken.IsCompletedSuccessfully && !woken.Result, Is.True);
    }

    [Test]
    public void TouchingAnotherMembersRecordIsRejected()
    {
        var dcs = Connect("node1");

        Assert.That(() => dcs.TouchMemberAsync(new Member("node2"), Ttl, CancellationToken.None), Throws.ArgumentException);
    }

    [Test]
    public async Task ADisposedConnectionRefusesCallsAndLeavesItsKeysToExpire()
    {
        var dcs = Connect("node1");
        await dcs.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);

        await dcs.DisposeAsync();

        Assert.That(() => dcs.LoadClusterAsync(CancellationToken.None), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(_store.PeekLeader(dcs.Prefix)?.Holder, Is.EqualTo("node1"));
        _time.Advance(Ttl);
        Assert.That(_store.PeekLeader(dcs.Prefix), Is.Null);
    }

    private InMemoryDcs Connect(string memberName) => new(_store, "service", "batman", memberName);
}
