using System.Globalization;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using Member = PgHa.Cluster.Member;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// What the conformance suite cannot see: the etcd keys themselves (Patroni's layout, bound to the node's lease), a
/// cluster written by a real Patroni, and the lease's life — expiry, revocation, TTL changes.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdDcsTests
{
    // etcd's minimum lease TTL with the default 1 s election timeout is 1.5 s, rounded up to whole seconds.
    private static readonly TimeSpan ShortTtl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    // etcd checks for expired leases every 500 ms and revokes them through raft.
    private static readonly TimeSpan ExpirySlack = TimeSpan.FromSeconds(2);

    private readonly List<IAsyncDisposable> _connections = [];
    private readonly List<string> _scopes = [];
    private CancellationTokenSource _deadline = null!;

    private static EtcdServer Server => EtcdTestEnvironment.Shared;
    private CancellationToken Ct => _deadline.Token;

    [SetUp]
    public void StartDeadline() => _deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1), TimeProvider.System);

    [TearDown]
    public async Task CleanUpAsync()
    {
        foreach (var connection in _connections) await connection.DisposeAsync();
        _connections.Clear();
        foreach (var scope in _scopes)
        {
            await using var cleaner = new EtcdDcs(EtcdTestEnvironment.Options(scope, "cleanup"), TimeProvider.System);
            await cleaner.DeleteClusterAsync(CancellationToken.None);
        }
        _scopes.Clear();
        _deadline.Dispose();
    }

    /// <summary>
    /// Leader, member and cluster keys land exactly where Patroni puts them: <c>/service/&lt;scope&gt;/leader</c> holding the
    /// bare name and <c>members/&lt;name&gt;</c> holding the member JSON, both bound to the node's one lease; cluster keys
    /// without a lease. The lock's version and session are the leader key's mod_revision and lease.
    /// </summary>
    [Test]
    public async Task KeysLandWherePatroniPutsThemBoundToTheNodesLease()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1", options => options.Namespace = "/service/"); // normalised as Patroni does
        var member = SampleMember("node1");

        await node.TouchMemberAsync(member, Ttl, Ct);
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(await node.TryInitializeAsync("7712269356054531944", Ct), Is.True);
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, Ct), Is.True);

        var keys = (await Server.RangeAsync($"/service/{scope}/")).ToDictionary(kv => kv.Key);
        Assert.That(keys.Keys, Is.EquivalentTo(new[]
        {
            $"/service/{scope}/config", $"/service/{scope}/initialize", $"/service/{scope}/leader", $"/service/{scope}/members/node1",
        }));
        var leader = keys[$"/service/{scope}/leader"];
        var published = keys[$"/service/{scope}/members/node1"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(leader.Value, Is.EqualTo("node1"), "the leader value is the bare member name");
            Assert.That(leader.Lease, Is.Not.Zero, "the leader key is bound to a lease");
            Assert.That(published.Lease, Is.EqualTo(leader.Lease), "member and leader share the node's lease");
            Assert.That(published.Value, Is.EqualTo(MemberCodec.Serialize(member)));
            Assert.That(keys[$"/service/{scope}/initialize"].Value, Is.EqualTo("7712269356054531944"));
            Assert.That(keys[$"/service/{scope}/initialize"].Lease, Is.Zero);
            Assert.That(keys[$"/service/{scope}/config"].Lease, Is.Zero);
            Assert.That(held, Is.EqualTo(new LeaderLock("node1", Version(leader.ModRevision), leader.Lease.ToString(CultureInfo.InvariantCulture))));
        }

        var cluster = await node.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Leader, Is.EqualTo(held), "the lock reads back as acquired");
            Assert.That(cluster.GetMember("node1")?.Session, Is.EqualTo(held!.Session));
            Assert.That(cluster.GetMember("node1")?.Version, Is.EqualTo(Version(published.ModRevision)));
        }
    }

    /// <summary>
    /// A cluster written by Patroni 3.0.2 (fixture values, leader put with node2's lease) reads correctly, and a PgHa node
    /// of the leader's name renews that lock by re-binding it to its own lease (as Patroni ≥ 3.0.3 does); others cannot take it.
    /// </summary>
    [Test]
    public async Task PatroniWrittenClusterIsReadAndItsLockRenewedUnderThisNodesLease()
    {
        var scope = NewScope();
        var prefix = $"/service/{scope}/";
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "patroni-3.0.2", "after-switchover");
        using var raw = Server.CreateRawClient();
        var leases = new Dictionary<string, long>();
        foreach (var name in new[] { "node1", "node2", "node3" })
            leases[name] = await raw.LeaseGrantAsync(30, Ct);
        foreach (var file in new[] { "initialize", "config", "failover", "history", "status" })
            await raw.PutAsync(prefix + file, await File.ReadAllTextAsync(Path.Combine(fixture, file), Ct), 0, Ct);
        foreach (var name in leases.Keys)
            await raw.PutAsync(prefix + "members/" + name, await File.ReadAllTextAsync(Path.Combine(fixture, "members__" + name), Ct), leases[name], Ct);
        var leaderPut = await raw.PutAsync(prefix + "leader", "node2", leases["node2"], Ct);

        var pgha = Connect(scope, "node2");
        var cluster = await pgha.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Problems, Is.Empty);
            Assert.That(cluster.Leader, Is.EqualTo(new LeaderLock("node2", Version(leaderPut), leases["node2"].ToString(CultureInfo.InvariantCulture))));
            Assert.That(cluster.Members.Select(m => (m.Name, m.Role, m.Session)), Is.EqualTo(new[]
            {
                ("node1", MemberRole.Replica, leases["node1"].ToString(CultureInfo.InvariantCulture)),
                ("node2", MemberRole.Primary, leases["node2"].ToString(CultureInfo.InvariantCulture)),
                ("node3", MemberRole.Replica, leases["node3"].ToString(CultureInfo.InvariantCulture)),
            }));
            Assert.That(cluster.Initialize?.SystemId, Is.EqualTo("7712269356054531944"));
            Assert.That(cluster.Config?.RawJson, Is.EqualTo(await File.ReadAllTextAsync(Path.Combine(fixture, "config"), Ct)));
            Assert.That(cluster.Timeline, Is.EqualTo(2));
            Assert.That(cluster.LastLeaderLsn, Is.EqualTo(67109536));
        }

        var other = Connect(scope, "node1");
        Assert.That(await other.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Null, "Patroni's lock is held");
        Assert.That(await other.TryRenewLeaderLockAsync(cluster.Leader!, Ttl, Ct), Is.Null, "and not node1's to renew");

        var renewed = await pgha.TryRenewLeaderLockAsync(cluster.Leader!, Ttl, Ct);
        Assert.That(renewed, Is.Not.Null, "the holder's name renews the lock");
        var leader = (await Server.RangeAsync(prefix + "leader")).Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(leader.Value, Is.EqualTo("node2"));
            Assert.That(leader.Lease, Is.Not.EqualTo(leases["node2"]), "re-bound to PgHa's own lease");
            Assert.That(renewed, Is.EqualTo(new LeaderLock("node2", Version(leader.ModRevision), leader.Lease.ToString(CultureInfo.InvariantCulture))));
            Assert.That(await pgha.TryRenewLeaderLockAsync(cluster.Leader!, Ttl, Ct), Is.Null, "the lock as Patroni wrote it is stale now");
            Assert.That(await pgha.TryRenewLeaderLockAsync(renewed!, Ttl, Ct), Is.EqualTo(renewed), "the re-bound lock renews without a write");
        }
    }

    /// <summary>When the node stops renewing, its lease expires and takes leader and member keys with it; the next touch grants a new lease.</summary>
    [Test]
    public async Task LeaseExpiryRemovesLeaderAndMemberAndTheNextTouchTakesANewLease()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1");
        await node.TouchMemberAsync(SampleMember("node1"), ShortTtl, Ct);
        var held = await node.TryAcquireLeaderLockAsync(ShortTtl, Ct);
        Assert.That(held, Is.Not.Null);
        var lease = long.Parse(held!.Session!, CultureInfo.InvariantCulture);

        await Task.Delay(ShortTtl + ExpirySlack, TimeProvider.System, Ct);

        using var raw = Server.CreateRawClient();
        var remaining = await raw.LeaseTimeToLiveAsync(lease, Ct);
        var cluster = await node.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(remaining.Ttl, Is.EqualTo(-1), "the lease is gone");
            Assert.That(cluster.Leader, Is.Null, "the leader key went with the lease");
            Assert.That(cluster.Members, Is.Empty, "the member key went with the lease");
        }

        await node.TouchMemberAsync(SampleMember("node1"), ShortTtl, Ct);
        var renewed = await node.TryRenewLeaderLockAsync(held, ShortTtl, Ct);
        var after = await node.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(after.GetMember("node1")?.Session, Is.Not.Null.And.Not.EqualTo(held.Session), "re-published under a new lease");
            Assert.That(renewed, Is.Null, "the expired lock is not renewed back into existence");
            Assert.That(after.Leader, Is.Null);
        }
    }

    /// <summary>A lease revoked behind the node's back (an operator, etcd losing it) is replaced on the next call; the lock it carried is lost.</summary>
    [Test]
    public async Task RevokedLeaseIsReplacedAndItsLockIsLost()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1");
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(held, Is.Not.Null);
        using var raw = Server.CreateRawClient();
        await raw.LeaseRevokeAsync(long.Parse(held!.Session!, CultureInfo.InvariantCulture), Ct);
        Assert.That(await Server.RangeAsync($"/service/{scope}/"), Is.Empty, "revoking the lease deleted both keys");

        var renewed = await node.TryRenewLeaderLockAsync(held, Ttl, Ct);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        var reacquired = await node.TryAcquireLeaderLockAsync(Ttl, Ct);

        var keys = await Server.RangeAsync($"/service/{scope}/");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(renewed, Is.Null, "the lock went with the lease");
            Assert.That(reacquired?.Session, Is.Not.Null.And.Not.EqualTo(held.Session), "acquired again under a new lease");
            Assert.That(keys.Select(kv => (kv.Key, kv.Lease.ToString(CultureInfo.InvariantCulture))), Is.EquivalentTo(new[]
            {
                ($"/service/{scope}/leader", reacquired?.Session),
                ($"/service/{scope}/members/node1", reacquired?.Session),
            }));
        }
    }

    /// <summary>A new TTL takes a new lease: renewing re-binds the lock to it (new version), touching re-binds the member.</summary>
    [Test]
    public async Task TtlChangeTakesANewLeaseAndRebindsLockAndMember()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1");
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(held, Is.Not.Null);

        var longer = Ttl + TimeSpan.FromSeconds(5);
        var renewed = await node.TryRenewLeaderLockAsync(held!, longer, Ct);
        await node.TouchMemberAsync(SampleMember("node1"), longer, Ct);

        using var raw = Server.CreateRawClient();
        var keys = await Server.RangeAsync($"/service/{scope}/");
        var newLease = await raw.LeaseTimeToLiveAsync(keys[0].Lease, Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(renewed, Is.Not.Null);
            Assert.That(renewed!.Session, Is.Not.EqualTo(held!.Session), "a new lease");
            Assert.That(renewed.Version, Is.Not.EqualTo(held.Version), "the leader key was re-put under it");
            Assert.That(keys.Select(kv => kv.Lease.ToString(CultureInfo.InvariantCulture)), Is.All.EqualTo(renewed.Session), "leader and member both moved");
            Assert.That(newLease.GrantedTtl, Is.EqualTo((long)longer.TotalSeconds));
            Assert.That(await node.TryRenewLeaderLockAsync(renewed, longer, Ct), Is.EqualTo(renewed), "and it renews as usual");
        }
    }

    /// <summary>Touching with an unchanged member writes nothing (same revision); a change writes; a member key deleted behind the node's back is re-created after the next read.</summary>
    [Test]
    public async Task TouchWritesOnlyWhatChangedAndRepublishesADeletedMember()
    {
        var scope = NewScope();
        var key = $"/service/{scope}/members/node1";
        var node = Connect(scope, "node1");
        var member = SampleMember("node1");

        await node.TouchMemberAsync(member, Ttl, Ct);
        var first = (await Server.RangeAsync(key)).Single().ModRevision;
        await node.TouchMemberAsync(member, Ttl, Ct);
        var unchanged = (await Server.RangeAsync(key)).Single().ModRevision;
        await node.TouchMemberAsync(member with { XlogLocation = 67500000 }, Ttl, Ct);
        var changed = (await Server.RangeAsync(key)).Single();

        using var raw = Server.CreateRawClient();
        await raw.DeleteAsync(key, Ct);
        Assert.That((await node.LoadClusterAsync(Ct)).HasMember("node1"), Is.False, "precondition: deleted");
        await node.TouchMemberAsync(member with { XlogLocation = 67500000 }, Ttl, Ct);
        var republished = await Server.RangeAsync(key);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unchanged, Is.EqualTo(first), "an unchanged member is not written again");
            Assert.That(changed.ModRevision, Is.GreaterThan(first), "a changed member is written");
            Assert.That(changed.Value, Does.Contain("67500000"));
            Assert.That(republished, Has.Count.EqualTo(1), "the deleted member key is published again");
        }
    }

    /// <summary>A waiting node wakes when the leader key disappears because its lease expired, not before, and then reads no leader.</summary>
    [Test]
    public async Task WaitForChangeWakesOnLeaderDeletionByLeaseExpiry()
    {
        var scope = NewScope();
        var holder = Connect(scope, "node1");
        var watcher = Connect(scope, "node2");
        Assert.That(await holder.TryAcquireLeaderLockAsync(ShortTtl, Ct), Is.Not.Null);
        await watcher.LoadClusterAsync(Ct);
        var started = TimeProvider.System.GetTimestamp();

        var woken = await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(30), Ct);

        var waited = TimeProvider.System.GetElapsedTime(started);
        var cluster = await watcher.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(woken, Is.True);
            Assert.That(waited, Is.GreaterThan(ShortTtl - TimeSpan.FromSeconds(0.5)).And.LessThan(ShortTtl + ExpirySlack + TimeSpan.FromSeconds(1)), "woken by the expiry");
            Assert.That(cluster.Leader, Is.Null, "the lock is gone");
        }
    }

    /// <summary>A change made between a read and the wait still wakes it: the watch starts right after the read's revision.</summary>
    [Test]
    public async Task WaitForChangeSeesAChangeMadeBetweenTheReadAndTheWait()
    {
        var scope = NewScope();
        var watcher = Connect(scope, "node1");
        var writer = Connect(scope, "node2");
        await watcher.LoadClusterAsync(Ct);
        Assert.That(await writer.TryWriteAsync(ClusterKey.Failover, """{"member":"node2"}""", WriteCondition.Always, Ct), Is.True);

        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromSeconds(10), Ct), Is.True);
    }

    /// <summary>Version tokens that are no etcd revision never satisfy a condition and never reach etcd as a create.</summary>
    [Test]
    public async Task ForeignVersionTokensNeverMatch()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1");
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.Always, Ct), Is.True);
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await node.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.IfVersion(new DcsVersion("abc")), Ct), Is.False);
            Assert.That(await node.TryWriteAsync(ClusterKey.Failover, "{}", WriteCondition.IfVersion(new DcsVersion("0")), Ct), Is.False, "revision 0 is not 'absent'");
            Assert.That(await node.TryDeleteAsync(ClusterKey.Config, WriteCondition.IfVersion(new DcsVersion("-1")), Ct), Is.False);
            Assert.That(await node.TryRenewLeaderLockAsync(held! with { Version = new DcsVersion("12 ") }, Ttl, Ct), Is.Null);
            Assert.That((await node.LoadClusterAsync(Ct)).Failover, Is.Null);
        }
    }

    /// <summary>Against a closed port, the failure names the endpoint and the operation, and a wait runs to its timeout instead of failing early.</summary>
    [Test]
    public async Task UnreachableEtcdIsReportedWithEndpointAndOperationAndTheWaitRunsItsCourse()
    {
        var closed = EtcdServer.FreePort();
        var options = EtcdTestEnvironment.Options(NewScope(), "node1", requestTimeout: TimeSpan.FromSeconds(1));
        options.Endpoints = [$"127.0.0.1:{closed}"];
        var node = Track(new EtcdDcs(options, TimeProvider.System));

        var error = Assert.ThrowsAsync<DcsUnavailableException>(() => node.TryAcquireLeaderLockAsync(Ttl, Ct));
        var started = TimeProvider.System.GetTimestamp();
        var woken = await node.WaitForChangeAsync(TimeSpan.FromSeconds(1.5), Ct);
        var waited = TimeProvider.System.GetElapsedTime(started);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error!.Message, Does.Contain($"127.0.0.1:{closed}").And.Contain("acquire the leader lock"));
            Assert.That(woken, Is.False);
            Assert.That(waited, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1.4)), "an outage does not end the wait early");
        }
    }

    /// <summary>With a dead endpoint listed first, reads move on to the next one and the writes and the watch that follow use it.</summary>
    [Test]
    public async Task ADeadEndpointIsLeftForTheNextOne()
    {
        var scope = NewScope();
        var node = Connect(scope, "node1", o => o.Endpoints = [$"127.0.0.1:{EtcdServer.FreePort()}", Server.Endpoint]);
        var other = Connect(scope, "node2");

        Assert.That((await node.LoadClusterAsync(Ct)).IsUnlocked, Is.True, "the read was retried on the second endpoint");
        Assert.That(await node.WaitForChangeAsync(TimeSpan.FromMilliseconds(300), Ct), Is.False, "the watch starts");
        await node.LoadClusterAsync(Ct);
        var woken = node.WaitForChangeAsync(TimeSpan.FromSeconds(10), Ct);
        var held = await other.TryAcquireLeaderLockAsync(Ttl, Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(held, Is.Not.Null);
            Assert.That(await woken, Is.True, "the watch runs on the live endpoint");
            Assert.That(await node.TryWriteAsync(ClusterKey.Initialize, "42", WriteCondition.IfAbsent, Ct), Is.True, "a write goes to the live endpoint");
        }
    }

    private EtcdDcs Connect(string scope, string name, Action<EtcdDcsOptions>? configure = null)
    {
        var options = EtcdTestEnvironment.Options(scope, name);
        configure?.Invoke(options);
        return Track(new EtcdDcs(options, TimeProvider.System));
    }

    private EtcdDcs Track(EtcdDcs dcs)
    {
        _connections.Add(dcs);
        return dcs;
    }

    private string NewScope()
    {
        var scope = EtcdTestEnvironment.NewScope();
        _scopes.Add(scope);
        return scope;
    }

    private static DcsVersion Version(long revision) => new(revision.ToString(CultureInfo.InvariantCulture));


    private static Member SampleMember(string name) => new(name)
    {
        ConnUrl = "postgres://10.0.0.1:5432/postgres",
        ApiUrl = "http://10.0.0.1:8008/patroni",
        State = "running",
        Role = MemberRole.Replica,
        AgentVersion = "4.1.4",
        XlogLocation = 67420024,
        Timeline = 3,
    };
}
