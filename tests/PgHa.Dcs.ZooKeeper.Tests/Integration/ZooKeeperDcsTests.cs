using System.Text;
using PgHa.Cluster;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>What the conformance suite cannot see: the znodes the adapter writes (Patroni's layout), session expiry, ttl changes, the validity it claims.</summary>
[TestFixture, Category("Integration")]
public sealed class ZooKeeperDcsTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(4);
    private readonly List<IAsyncDisposable> _owned = [];
    private CancellationTokenSource _deadline = null!;
    private string _scope = "";

    private CancellationToken Ct => _deadline.Token;

    [SetUp]
    public void NewScope()
    {
        _deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1), TimeProvider.System);
        _scope = "pgha-zk-" + Guid.NewGuid().ToString("N")[..12];
    }

    [TearDown]
    public async Task CleanUpAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
        _owned.Clear();
        await using var cleaner = ZooKeeperTestEnvironment.Client();
        await ZooKeeperClientTests.DeleteTreeAsync(cleaner, "/service/" + _scope);
        _deadline.Dispose();
    }

    private ZooKeeperDcs Connect(string name, Action<ZooKeeperDcsOptions>? configure = null)
    {
        var options = ZooKeeperTestEnvironment.Options(_scope, name);
        configure?.Invoke(options);
        var dcs = new ZooKeeperDcs(options, TimeProvider.System);
        _owned.Add(dcs);
        return dcs;
    }

    private ZooKeeperClient Raw()
    {
        var client = ZooKeeperTestEnvironment.Client();
        _owned.Add(client);
        return client;
    }

    private static Member SampleMember(string name) => new(name)
    {
        ConnUrl = "postgres://10.0.0.1:5432/postgres",
        ApiUrl = "http://10.0.0.1:8008/patroni",
        State = "running",
        Role = MemberRole.Replica,
        AgentVersion = "4.1.4",
    };

    [Test]
    public async Task WritesPatronisZnodesWithEphemeralLeaderAndMemberOfTheNodesSession()
    {
        var node = Connect("node1");
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.IfAbsent, Ct), Is.True);
        var raw = Raw();

        var (leader, leaderStat) = await raw.GetDataAsync($"/service/{_scope}/leader", false, Ct);
        var (member, memberStat) = await raw.GetDataAsync($"/service/{_scope}/members/node1", false, Ct);
        var (config, configStat) = await raw.GetDataAsync($"/service/{_scope}/config", false, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(leader), Is.EqualTo("node1"), "the leader znode holds the bare name");
            Assert.That(leaderStat.EphemeralOwner, Is.EqualTo(node.SessionId).And.Not.Zero, "ephemeral, owned by the node's session");
            Assert.That(memberStat.EphemeralOwner, Is.EqualTo(node.SessionId), "the member znode shares the session");
            Assert.That(Encoding.UTF8.GetString(member), Does.StartWith("{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\""));
            Assert.That(Encoding.UTF8.GetString(config), Is.EqualTo("""{"ttl":30}"""));
            Assert.That(configStat.EphemeralOwner, Is.Zero, "cluster keys are persistent");
            Assert.That(held!.Session, Is.EqualTo(leaderStat.EphemeralOwner.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    public async Task ARestartedHolderReadoptsTheLeaderZnodeOfItsOldSessionAndAnotherMemberCannot()
    {
        // Session A: the agent before its restart, still alive at the server.
        var before = Connect("node1");
        var first = await before.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(first, Is.Not.Null);
        var other = Connect("node2");
        var seenByOther = (await other.LoadClusterAsync(Ct)).Leader!;
        var notTheirs = await other.TryRenewLeaderLockAsync(seenByOther, Ttl, Ct);
        var forged = await other.TryRenewLeaderLockAsync(seenByOther with { Holder = "node2" }, Ttl, Ct);
        var raw = Raw();
        var (_, untouched) = await raw.GetDataAsync($"/service/{_scope}/leader", false, Ct);

        // Session B: the restarted agent of the same name reads the lock and renews it, as the HA loop does.
        var after = Connect("node1");
        var read = (await after.LoadClusterAsync(Ct)).Leader!;
        var kept = await after.TryRenewLeaderLockAsync(read, Ttl, Ct);
        var (value, stat) = await raw.GetDataAsync($"/service/{_scope}/leader", false, Ct);
        var again = kept is null ? null : await after.TryRenewLeaderLockAsync(kept, Ttl, Ct);
        var oldSession = await before.TryRenewLeaderLockAsync(first!, Ttl, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notTheirs, Is.Null, "node2 cannot renew node1's lock");
            Assert.That(forged, Is.Null, "nor take it in its own name");
            Assert.That(untouched.EphemeralOwner, Is.EqualTo(before.SessionId), "node2's attempts left the znode to session A");
            Assert.That(after.SessionId, Is.Not.EqualTo(before.SessionId));
            Assert.That(kept, Is.Not.Null, "the restarted node re-adopts its lock");
            Assert.That(Encoding.UTF8.GetString(value), Is.EqualTo("node1"));
            Assert.That(stat.EphemeralOwner, Is.EqualTo(after.SessionId), "the leader znode now belongs to session B, so it lives as long as B");
            Assert.That(kept?.Session, Is.EqualTo(after.SessionId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(kept?.Version, Is.Not.EqualTo(read.Version), "a re-created znode is a new lock version");
            Assert.That(again, Is.EqualTo(kept), "and renews as usual");
            Assert.That(oldSession, Is.Null, "session A no longer holds the lock");
        }
    }

    [Test]
    public async Task ValidityIsTheNegotiatedTimeoutLessATick()
    {
        var node = Connect("node1");
        Assert.That(await node.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(node.GuaranteedLockValidity(Ttl), Is.EqualTo(Ttl - ZooKeeperServer.TickTime));
            // A ttl longer than the session's timeout cannot be promised: the session's own timeout bounds it.
            Assert.That(node.GuaranteedLockValidity(TimeSpan.FromSeconds(30)), Is.EqualTo(Ttl - ZooKeeperServer.TickTime));
        }
    }

    [Test]
    public async Task AfterTheSessionExpiredTheLockIsGoneRenewalReturnsNullAndTheNextTouchRecreatesTheMember()
    {
        var node = Connect("node1");
        var observer = Connect("node2");
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        var firstSession = node.SessionId;
        await node.LoadClusterAsync(Ct);

        // Nothing renews: the session expires at the server (ttl, rounded up to a tick) and so do its znodes.
        await Task.Delay(Ttl + TimeSpan.FromSeconds(2.5), TimeProvider.System, Ct);
        var seen = await observer.LoadClusterAsync(Ct);
        var woken = await node.WaitForChangeAsync(TimeSpan.FromSeconds(5), Ct);
        var renewed = await node.TryRenewLeaderLockAsync(held!, Ttl, Ct);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        var after = await observer.LoadClusterAsync(Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(seen.Leader, Is.Null, "the expired session took the lock with it");
            Assert.That(seen.HasMember("node1"), Is.False, "and the member znode");
            Assert.That(woken, Is.True, "the loss of the session (the server hung up) wakes a waiter");
            Assert.That(renewed, Is.Null, "the lock of an expired session cannot be renewed");
            Assert.That(node.SessionId, Is.Not.Zero.And.Not.EqualTo(firstSession), "a new session replaced it");
            Assert.That(after.GetMember("node1")?.Session, Is.EqualTo(node.SessionId.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the touch re-created the member in the new session");
        }
    }

    [Test]
    public async Task ATouchWithUnchangedDataStillKeepsTheSessionAlive()
    {
        var node = Connect("node1");
        var observer = Connect("node2");
        var member = SampleMember("node1");
        await node.TouchMemberAsync(member, Ttl, Ct);
        var session = node.SessionId;

        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5), TimeProvider.System, Ct);
            await node.TouchMemberAsync(member, Ttl, Ct);
        }

        Assert.That((await observer.LoadClusterAsync(Ct)).GetMember("node1")?.Session, Is.EqualTo(session.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            "6 s of unchanged touches kept the 4 s session");
    }

    [Test]
    public async Task ATtlChangeReplacesTheSessionOfANodeWithoutTheLockButNotOfTheHolder()
    {
        var holder = Connect("node1");
        var replica = Connect("node2");
        Assert.That(await holder.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        await replica.TouchMemberAsync(SampleMember("node2"), Ttl, Ct);
        var (holderSession, replicaSession) = (holder.SessionId, replica.SessionId);

        var longer = TimeSpan.FromSeconds(6);
        await holder.TouchMemberAsync(SampleMember("node1"), longer, Ct);
        await replica.TouchMemberAsync(SampleMember("node2"), longer, Ct);

        var cluster = await replica.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(holder.SessionId, Is.EqualTo(holderSession), "the lock holder keeps its session (and lock)");
            Assert.That(cluster.Leader?.Holder, Is.EqualTo("node1"));
            Assert.That(holder.GuaranteedLockValidity(longer), Is.EqualTo(Ttl - ZooKeeperServer.TickTime), "bounded by the session it still has");
            Assert.That(replica.SessionId, Is.Not.EqualTo(replicaSession), "the replica took a session with the new timeout");
            Assert.That(cluster.GetMember("node2")?.Session, Is.EqualTo(replica.SessionId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    public void BadOptionsAreRefusedNamingEachProblem()
    {
        var options = new ZooKeeperDcsOptions { Hosts = ["zk1:2181", "::1:2181", "zk2:99999"], Scope = "a/b", Name = "", Ttl = TimeSpan.Zero };

        var error = Assert.Throws<ArgumentException>(() => _ = new ZooKeeperDcs(options, TimeProvider.System));

        Assert.That(error!.Message, Does.Contain("Scope: 'a/b' cannot contain '/'")
            .And.Contain("Name: the member name is required")
            .And.Contain("Hosts: '::1:2181'")
            .And.Contain("Hosts: 'zk2:99999'")
            .And.Contain("Ttl:"));
    }

    [Test]
    public void HostsParseInPatronisForms()
    {
        var options = new ZooKeeperDcsOptions { Hosts = ["zk1:2182,zk2", "[::1]:2183", "zk1:2182"] };

        var hosts = options.ParseHosts([]);

        Assert.That(hosts.Select(h => $"{h.Host}:{h.Port}"), Is.EqualTo(new[] { "zk1:2182", "zk2:2181", "::1:2183" }));
    }
}
