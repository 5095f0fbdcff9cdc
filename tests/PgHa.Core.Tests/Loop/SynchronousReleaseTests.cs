using Microsoft.Extensions.Time.Testing;
using Moq;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Postgres;
using PgHa.Testing;

namespace PgHa.Core.Tests.Loop;

/// <summary>
/// Patroni's <c>while_not_sync_standby</c> (patroni-compat.md §5.8): a synchronous standby that shuts down first
/// publishes <c>nosync</c> and waits (up to 2 × loop_wait) for the leader to release it from the <c>sync</c> key.
/// </summary>
[TestFixture]
public sealed class SynchronousReleaseTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;
    private InMemoryDcs _leader = null!;
    private Mock<IPostgresControl> _pg = null!;

    [SetUp]
    public async Task SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
        _store.TryWrite(Prefix, ClusterKeys.Initialize, "7000000000000000001", WriteCondition.Always);
        _leader = new InMemoryDcs(_store, "service", "batman", "node2");
        await _leader.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        await _leader.TouchMemberAsync(new Member("node2") { ConnUrl = "postgres://127.0.0.1:5433/postgres", State = "running", Role = MemberRole.Primary }, Ttl, CancellationToken.None);
        _pg = new Mock<IPostgresControl>();
        _pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(new PostgresStatus
        {
            DataDirectory = DataDirectoryState.Initialized, SystemId = "7000000000000000001", IsRunning = true,
            Role = PostgresRole.Replica, Timeline = 1, Lsn = 100, Upstream = "node2", IsStreaming = true,
        });
    }

    [TearDown]
    public async Task TearDown() => await _leader.DisposeAsync();

    private void Config(bool synchronousMode) => _store.TryWrite(Prefix, ClusterKeys.Config,
        synchronousMode ? """{"ttl":30,"loop_wait":10,"retry_timeout":10,"synchronous_mode":true}""" : """{"ttl":30,"loop_wait":10,"retry_timeout":10}""", WriteCondition.Always);

    private void SyncKey(params string[] standbys) => _store.TryWrite(Prefix, ClusterKeys.Sync,
        $$"""{"leader":"node2","sync_standby":{{(standbys.Length == 0 ? "null" : "\"" + string.Join(",", standbys) + "\"")}}}""", WriteCondition.Always);

    private async Task<HaLoop> ReplicaLoopAsync()
    {
        var loop = new HaLoop(new InMemoryDcs(_store, "service", "batman", "node1"), _pg.Object, Mock.Of<IPeerStatusClient>(), new HaNodeOptions
        {
            Identity = new NodeIdentity("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
        }, _time);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;
        return loop;
    }

    private async Task<MemberTags> PublishedTagsAsync() =>
        (await _leader.LoadClusterAsync(CancellationToken.None)).GetMember("node1")!.Tags;

    private bool Stopped => _pg.Invocations.Any(i => i.Method.Name == nameof(IPostgresControl.StopForDemoteAsync));

    [Test]
    public async Task ASynchronousStandbyTagsItselfNosyncAndStopsOnlyOnceTheLeaderReleasedIt()
    {
        Config(synchronousMode: true);
        SyncKey("node1");
        var loop = await ReplicaLoopAsync();
        Assert.That((await PublishedTagsAsync()).NoSync, Is.False);

        var shutdown = loop.ShutdownAsync(CancellationToken.None);
        Assert.That((await PublishedTagsAsync()).NoSync, Is.True, "nosync is published before anything stops");
        Assert.That(Stopped, Is.False, "still listed in the sync key: waits for the leader");

        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(Stopped, Is.False);

        SyncKey(); // the leader picked nobody else and released node1
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await shutdown.WaitAsync(TimeSpan.FromSeconds(10));
        _pg.Verify(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task WhenTheLeaderDoesNotReactTheStandbyStopsAfterTwiceLoopWait()
    {
        Config(synchronousMode: true);
        SyncKey("node1");
        var loop = await ReplicaLoopAsync();

        var shutdown = loop.ShutdownAsync(CancellationToken.None);
        for (var i = 0; i < 39; i++) _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(Stopped, Is.False, "19.5 s < 2 × loop_wait");
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await shutdown.WaitAsync(TimeSpan.FromSeconds(10));
        _pg.Verify(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task AStandbyThatIsNotSynchronousOrOutsideSynchronousModeStopsAtOnceWithoutTheTag()
    {
        Config(synchronousMode: true);
        SyncKey("node3");
        var loop = await ReplicaLoopAsync();
        await loop.ShutdownAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(Stopped, Is.True, "not listed: nothing to wait for");

        _pg.Invocations.Clear();
        Config(synchronousMode: false);
        SyncKey("node1");
        var async = await ReplicaLoopAsync();
        await async.ShutdownAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(Stopped, Is.True);
        Assert.That((await PublishedTagsAsync()).NoSync, Is.False, "outside synchronous mode no tag is published");
    }
}
