using Microsoft.Extensions.Time.Testing;
using PgHa.Cluster;
using Member = PgHa.Cluster.Member;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// The connection's long-lived watch and the loads it answers, against an etcd of the fixture's own (the tests compact
/// its history, kill and restart it, and count its requests): own writes are always read back, other nodes' writes
/// arrive promptly, a compaction or an outage never leaves loads on an old copy, and the lease is refreshed as designed.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdWatchTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    private readonly List<EtcdDcs> _connections = [];
    private EtcdServer _server = null!;
    private CancellationTokenSource _deadline = null!;

    private CancellationToken Ct => _deadline.Token;

    [OneTimeSetUp]
    public async Task StartOwnServerAsync() => _server = await EtcdServer.StartAsync("pgha-watch");

    [OneTimeTearDown]
    public async Task StopOwnServerAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    [SetUp]
    public void StartDeadline() => _deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2), TimeProvider.System);

    [TearDown]
    public async Task CleanUpAsync()
    {
        if (_server.IsFrozen) await _server.ThawAsync();
        if (!_server.IsRunning) await _server.StartAgainAsync();
        foreach (var connection in _connections) await connection.DisposeAsync();
        _connections.Clear();
        _deadline.Dispose();
    }

    /// <summary>Once a connection watches, every load right after its own write shows that write (and sends no range read).</summary>
    [Test]
    public async Task AWatchingConnectionReadsItsOwnWritesBackAtOnceWithoutRangeReads()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var node = Connect(scope, "node1");
        await StartWatchingAsync(node);
        var before = await _server.ReadMessagesReceivedAsync(Ct);

        for (var i = 1; i <= 30; i++)
        {
            Assert.That(await node.TryWriteAsync(ClusterKey.Status, $$"""{"optime":{{i}}}""", WriteCondition.Always, Ct), Is.True);
            await node.TouchMemberAsync(new Member("node1") { State = "running", XlogLocation = i }, Ttl, Ct);
            var cluster = await node.LoadClusterAsync(Ct);
            Assert.That((cluster.Status?.Optime, cluster.GetMember("node1")?.XlogLocation), Is.EqualTo(((long?)i, (long?)i)), $"write {i}");
        }

        var sent = await _server.ReadMessagesReceivedAsync(Ct);
        Assert.That(sent.GetValueOrDefault("Range") - before.GetValueOrDefault("Range"), Is.Zero, "every load came from the watch");
    }

    /// <summary>Another node's write reaches a watching connection's loads within moments, and loads never go back in time.</summary>
    [Test]
    public async Task AnotherNodesWriteReachesAWatchingConnectionsLoadsPromptly()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var watcher = Connect(scope, "node1");
        var writer = Connect(scope, "node2");
        await StartWatchingAsync(watcher);

        for (var i = 1; i <= 10; i++)
        {
            Assert.That(await writer.TryWriteAsync(ClusterKey.Status, $$"""{"optime":{{i}}}""", WriteCondition.Always, Ct), Is.True);
            var started = TimeProvider.System.GetTimestamp();
            long? seen;
            do
            {
                seen = (await watcher.LoadClusterAsync(Ct)).Status?.Optime ?? 0;
                Assert.That(seen, Is.GreaterThanOrEqualTo(i - 1), "a load never goes back in time");
                Assert.That(TimeProvider.System.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(5)), $"write {i} did not arrive");
            }
            while (seen != i);
        }
    }

    /// <summary>
    /// With the watch already running, a decision-key change made between a load and the next wait wakes that wait at
    /// once, and only once: after a load that read it, the next wait runs to its timeout.
    /// </summary>
    [Test]
    public async Task AChangeBetweenALoadAndTheWaitWakesItOnceOnARunningWatch()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var watcher = Connect(scope, "node1");
        var writer = Connect(scope, "node2");
        await StartWatchingAsync(watcher);
        await watcher.LoadClusterAsync(Ct);

        Assert.That(await writer.TryWriteAsync(ClusterKey.Failover, """{"member":"node2"}""", WriteCondition.Always, Ct), Is.True);
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System, Ct); // delivered before the wait begins

        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(10), Ct).WaitAsync(TimeSpan.FromSeconds(1), TimeProvider.System, Ct), Is.True);
        Assert.That((await watcher.LoadClusterAsync(Ct)).Failover, Is.Not.Null);
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(1), Ct), Is.False, "the change was read; nothing new");
        Assert.That(await writer.TryWriteAsync(ClusterKey.Status, """{"optime":1}""", WriteCondition.Always, Ct), Is.True);
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(1), Ct), Is.False, "status does not wake");
    }

    /// <summary>
    /// A watch that must start from a compacted revision wakes the waiter (changes may have been missed), reads the
    /// prefix again and goes on watching from there: loads are current, and the next wait is quiet.
    /// </summary>
    [Test]
    public async Task ACompactedStartRevisionWakesTheWaiterAndTheClusterIsReadAgain()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var watcher = Connect(scope, "node1");
        var writer = Connect(scope, "node2");
        await watcher.LoadClusterAsync(Ct);
        for (var i = 1; i <= 5; i++)
            Assert.That(await writer.TryWriteAsync(ClusterKey.Status, $$"""{"optime":{{i}}}""", WriteCondition.Always, Ct), Is.True);
        using (var raw = _server.CreateRawClient())
        {
            var revision = await raw.RevisionAsync(Ct);
            await raw.CompactAsync(revision, Ct);
        }

        // The first wait starts the watch right after the load's revision, which is compacted: only status changed, so
        // the wake-up comes from the compaction.
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(10), Ct).WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System, Ct), Is.True);
        Assert.That((await watcher.LoadClusterAsync(Ct)).Status?.Optime, Is.EqualTo(5));
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(1), Ct), Is.False, "no wake-up loop after the re-read");

        Assert.That(await writer.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, Ct), Is.True);
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(10), Ct).WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System, Ct), Is.True, "watching again");
        Assert.That((await watcher.LoadClusterAsync(Ct)).Config?.RawJson, Is.EqualTo("""{"ttl":30}"""));
    }

    /// <summary>
    /// While etcd is down a watching connection's loads fail as unavailable instead of answering from the copy; once it is
    /// back, the first load reads etcd again and shows what changed meanwhile, and the pending wait was woken by it.
    /// </summary>
    [Test]
    public async Task DuringAnOutageLoadsFailInsteadOfAnsweringFromTheCopyAndAfterwardsTheyAreCurrent()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var watcher = Connect(scope, "node1");
        var writer = Connect(scope, "node2");
        await StartWatchingAsync(watcher);
        await watcher.LoadClusterAsync(Ct);
        var wait = watcher.WaitForChangeAsync(TimeSpan.FromSeconds(60), Ct);

        await _server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(0.5), TimeProvider.System, Ct); // the stream's end reaches the connection
        Assert.That(async () => await watcher.LoadClusterAsync(Ct), Throws.TypeOf<DcsUnavailableException>(), "no answer from the copy while etcd is down");

        await _server.StartAgainAsync();
        await RetryWhileUnavailableAsync(() => writer.TryWriteAsync(ClusterKey.Config, """{"ttl":20}""", WriteCondition.Always, Ct));
        var cluster = await RetryWhileUnavailableAsync(() => watcher.LoadClusterAsync(Ct));

        Assert.That(cluster.Config?.RawJson, Is.EqualTo("""{"ttl":20}"""), "the first load after the outage is current");
        Assert.That(await wait.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, Ct), Is.True, "the re-created watch delivered the change");
    }

    /// <summary>
    /// Acquire and renew always send a keep-alive (the lock's validity counts from it); a member touch sends one only when
    /// the lease was confirmed more than ttl/4 before, measured on the connection's clock from when that request was sent.
    /// </summary>
    [Test]
    public async Task RenewAlwaysKeepsTheLeaseAliveATouchOnlyWhenItWasConfirmedMoreThanAQuarterTtlAgo()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var node = Track(new EtcdDcs(EtcdTestEnvironment.Options(EtcdTestEnvironment.NewScope(), "node1", _server), time));
        var ttl = TimeSpan.FromSeconds(8); // ttl/4 = 2 s
        var member = new Member("node1") { State = "running" };

        Assert.That(await CountAsync(() => node.TouchMemberAsync(member, ttl, Ct)), Is.EqualTo("LeaseGrant 1, Put 1"));
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.That(await CountAsync(() => node.TouchMemberAsync(member, ttl, Ct)), Is.EqualTo(""), "granted 1.9 s ago");
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.That(await CountAsync(() => node.TouchMemberAsync(member, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1"), "confirmed 2.1 s ago");

        LeaderLock? held = null;
        Assert.That(await CountAsync(async () => held = await node.TryAcquireLeaderLockAsync(ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1, Txn 1"), "acquire, right after a keep-alive");
        Assert.That(await CountAsync(() => node.TouchMemberAsync(member with { Role = MemberRole.Primary }, ttl, Ct)), Is.EqualTo("Put 1"), "the touch rides on the acquire's keep-alive");
        Assert.That(await CountAsync(() => node.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1, Txn 1"));
        Assert.That(await CountAsync(() => node.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1, Txn 1"), "every renew, however recent the last");
        Assert.That(await CountAsync(() => node.TouchMemberAsync(member with { Role = MemberRole.Primary }, ttl, Ct)), Is.EqualTo(""));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await CountAsync(() => node.TouchMemberAsync(member with { Role = MemberRole.Primary }, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1"));
        await node.DeleteClusterAsync(Ct);
    }

    /// <summary>
    /// A watching leader reads etcd for its loads unless etcd confirmed its lock less than ttl/4 before, and a renewal
    /// right after such a confirmation needs only the keep-alive; once the confirmation is ttl/4 old, or the watch
    /// delivered a change of the key (someone writing etcd by hand), the renewal asks etcd with the txn again — which
    /// confirms the lock for the next load — and a replaced key is not renewed.
    /// </summary>
    [Test]
    public async Task AWatchingLeaderReadsEtcdAndRenewsWithTheKeepAliveAloneRightAfterThatRead()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var scope = EtcdTestEnvironment.NewScope();
        var leader = Track(new EtcdDcs(EtcdTestEnvironment.Options(scope, "node1", _server), time));
        var ttl = TimeSpan.FromSeconds(8); // ttl/4 = 2 s
        await leader.LoadClusterAsync(Ct);
        var first = leader.WaitForChangeAsync(TimeSpan.FromSeconds(1), Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System, Ct);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await first, Is.False, "the watch starts");
        var held = await leader.TryAcquireLeaderLockAsync(ttl, Ct);
        Assert.That(held, Is.Not.Null);

        Assert.That(await CountAsync(() => leader.LoadClusterAsync(Ct)), Is.EqualTo("Range 1"), "the leader reads etcd");
        Assert.That(await CountAsync(() => leader.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1"), "right after the read");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await CountAsync(() => leader.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1, Txn 1"), "the read is ttl/4 old");
        Assert.That(await CountAsync(() => leader.LoadClusterAsync(Ct)), Is.EqualTo(""), "the txn just confirmed the lock: the load comes from the watch");
        Assert.That(await CountAsync(() => leader.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1"));
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.That(await CountAsync(() => leader.LoadClusterAsync(Ct)), Is.EqualTo(""), "confirmed 1.9 s ago");
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(await CountAsync(() => leader.LoadClusterAsync(Ct)), Is.EqualTo("Range 1"), "confirmed ttl/4 ago: the leader reads etcd");
        Assert.That(await CountAsync(() => leader.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1"));

        // Someone re-writes the key by hand (same name, same lease, new revision): once the watch delivered it, the
        // lock as held is stale and the txn says so.
        using (var raw = _server.CreateRawClient())
            await raw.PutAsync(leader.Prefix + "leader", "node1", long.Parse(held!.Session!, System.Globalization.CultureInfo.InvariantCulture), Ct);
        Assert.That(await leader.WaitForChangeAsync(TimeSpan.FromSeconds(30), Ct).WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, Ct), Is.True, "delivered");
        LeaderLock? renewed = held;
        Assert.That(await CountAsync(async () => renewed = await leader.TryRenewLeaderLockAsync(held!, ttl, Ct)), Is.EqualTo("LeaseKeepAlive 1, Txn 1"));
        Assert.That(renewed, Is.Null, "the key was replaced since it was read");
        await leader.DeleteClusterAsync(Ct);
    }

    /// <summary>
    /// While etcd is frozen (sockets open, nothing answered), the leader's renewal fails as unavailable, and so does its
    /// load once etcd's last confirmation of its lock is ttl/4 old — the HA loop's outage handling depends on that —
    /// while a replica's load is answered from its watch at once, as Patroni's is.
    /// </summary>
    [Test]
    public async Task DuringAFreezeTheLeadersRenewalAndLoadFailWhileAReplicasLoadComesFromItsWatch()
    {
        var scope = EtcdTestEnvironment.NewScope();
        var leader = Connect(scope, "node1");
        var replica = Connect(scope, "node2");
        await StartWatchingAsync(leader);
        await StartWatchingAsync(replica);
        var wake = replica.WaitForChangeAsync(TimeSpan.FromSeconds(30), Ct);
        var held = await leader.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(held, Is.Not.Null);
        Assert.That(await wake.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, Ct), Is.True);
        Assert.That((await leader.LoadClusterAsync(Ct)).LeaderName, Is.EqualTo("node1"));
        Assert.That((await replica.LoadClusterAsync(Ct)).LeaderName, Is.EqualTo("node1"));

        await _server.FreezeAsync();
        Assert.That(async () => await leader.TryRenewLeaderLockAsync(held!, Ttl, Ct), Throws.TypeOf<DcsUnavailableException>(), "the keep-alive gets no answer");
        var started = TimeProvider.System.GetTimestamp();
        Assert.That(async () => await leader.LoadClusterAsync(Ct), Throws.TypeOf<DcsUnavailableException>());
        var leaderTook = TimeProvider.System.GetElapsedTime(started);
        started = TimeProvider.System.GetTimestamp();
        var seen = await replica.LoadClusterAsync(Ct);
        var replicaTook = TimeProvider.System.GetElapsedTime(started);
        await _server.ThawAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(leaderTook, Is.LessThan(RequestTimeout + TimeSpan.FromSeconds(3)), "within the request deadline");
            Assert.That(seen.LeaderName, Is.EqualTo("node1"));
            Assert.That(replicaTook, Is.LessThan(TimeSpan.FromSeconds(1)), "from the watch");
        }
    }

    /// <summary>The messages etcd received while <paramref name="action"/> ran, as "Method count, …".</summary>
    private async Task<string> CountAsync(Func<Task> action)
    {
        var before = await _server.ReadMessagesReceivedAsync(Ct);
        await action();
        var after = await _server.ReadMessagesReceivedAsync(Ct);
        return string.Join(", ", after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).Select(kv => $"{kv.Key} {kv.Value - before.GetValueOrDefault(kv.Key)}"));
    }

    /// <summary>The first wait starts the connection's watch; the load after it reads etcd once, and from then on loads come from the watch.</summary>
    private async Task StartWatchingAsync(EtcdDcs node)
    {
        await node.LoadClusterAsync(Ct);
        Assert.That(await node.WaitForChangeAsync(TimeSpan.FromMilliseconds(300), Ct), Is.False);
        await node.LoadClusterAsync(Ct);
    }

    private async Task<T> RetryWhileUnavailableAsync<T>(Func<Task<T>> call)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (DcsUnavailableException) when (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, Ct);
            }
        }
    }

    private EtcdDcs Connect(string scope, string name) =>
        Track(new EtcdDcs(EtcdTestEnvironment.Options(scope, name, _server, RequestTimeout), TimeProvider.System));

    private EtcdDcs Track(EtcdDcs dcs)
    {
        _connections.Add(dcs);
        return dcs;
    }
}
