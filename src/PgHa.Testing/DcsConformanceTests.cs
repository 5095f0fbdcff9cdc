using System.Text.Json.Nodes;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Testing;

/// <summary>
/// The <see cref="IDcs"/> contract as an NUnit suite: every DCS adapter runs these tests, unchanged, against its backend.
/// </summary>
/// <remarks>
/// <para><b>How to run it against an adapter.</b> Derive one sealed <c>[TestFixture]</c> and implement the two factory
/// hooks. Every test is declared here and NUnit runs inherited tests in each concrete fixture, so there is nothing to
/// wrap or repeat. Do not override or hide tests: a backend that cannot pass one does not implement the contract.</para>
/// <code language="csharp"><![CDATA[
/// [TestFixture, Category("Integration")]
/// public sealed class MyDcsConformanceTests : DcsConformanceTests
/// {
///     [OneTimeSetUp]
///     public async Task RequireServerAsync()
///     {
///         if (!await MyTestServer.IsReachableAsync()) Assert.Ignore("my DCS is not reachable on localhost");
///     }
///
///     protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
///         Task.FromResult<IDcs>(new MyDcs(new MyDcsOptions { Endpoint = MyTestServer.Endpoint, Scope = scope, Name = memberName }, TimeProvider.System));
///
///     protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken) =>
///         Task.FromResult<IDcs>(new MyDcs(new MyDcsOptions { Endpoint = "http://127.0.0.1:1", Scope = scope, Name = memberName, RequestTimeout = requestTimeout }, TimeProvider.System));
/// }
/// ]]></code>
/// <para><b>Hooks.</b> <see cref="CreateDcsAsync"/> connects one member of one cluster to the backend under test;
/// <see cref="CreateUnreachableDcsAsync"/> connects one to a backend that does not answer (a closed port, a stopped
/// server). <see cref="ElapseAsync"/> lets time pass: real time by default, a fake clock for in-memory adapters.
/// <see cref="Ttl"/> is the TTL the tests lock with and <see cref="ExpirySlack"/> how late after it a key may still be
/// seen; override them when the backend needs a longer TTL (Consul's minimum session TTL is 10 s, so its lock TTL must be
/// at least 20 s) or expires coarsely.</para>
/// <para><b>Isolation.</b> Each test works in a cluster scope of its own (<c>pgha-test-</c> + 12 hex digits), so fixtures
/// may share one server, and removes it afterwards: every connection created through the hooks is disposed and every
/// scope is deleted with <see cref="IDcs.DeleteClusterAsync"/> in <see cref="CleanUpAsync"/>.</para>
/// <para><b>Timing.</b> Against a real backend the expiry tests take about <see cref="Ttl"/> + <see cref="ExpirySlack"/>
/// each. Operations that should be prompt are allowed a few real seconds, never fake time.</para>
/// </remarks>
[Category("Conformance")]
public abstract class DcsConformanceTests
{
    // How long something that should happen at once may take against a real backend.
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan UnreachableRequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan UnreachableGrace = TimeSpan.FromSeconds(3);

    private readonly List<IDcs> _connections = [];
    private readonly List<string> _scopes = [];
    private CancellationTokenSource? _testDeadline;
    private string _scope = "";

    /// <summary>
    /// Connects member <paramref name="memberName"/> of cluster <paramref name="scope"/> to the backend under test. Called
    /// several times per test, for different members (and scopes); each call returns a connection of its own, as separate
    /// nodes would have. The suite disposes it.
    /// </summary>
    /// <param name="scope">The cluster scope; the namespace is the adapter's choice (usually <c>service</c>).</param>
    /// <param name="memberName">The member the connection acts for.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    protected abstract Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken);

    /// <summary>
    /// Connects member <paramref name="memberName"/> of cluster <paramref name="scope"/> to a backend that does not answer
    /// (an address where nothing listens, or a stopped server), with <paramref name="requestTimeout"/> as the adapter's
    /// request deadline. Creating the connection itself must succeed; its operations must then fail with
    /// <see cref="DcsUnavailableException"/> within <paramref name="requestTimeout"/> plus a few seconds.
    /// </summary>
    /// <param name="scope">The cluster scope.</param>
    /// <param name="memberName">The member the connection acts for.</param>
    /// <param name="requestTimeout">The deadline of one operation (what <c>retry_timeout</c> would give in production).</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    protected abstract Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// Lets <paramref name="duration"/> pass on the clock the backend expires keys by. The default waits in real time; an
    /// adapter on a fake clock advances it instead (for example <c>FakeTimeProvider.Advance</c>).
    /// </summary>
    /// <param name="duration">How much time passes.</param>
    protected virtual Task ElapseAsync(TimeSpan duration) => Task.Delay(duration, TimeProvider.System);

    /// <summary>The TTL the tests acquire the leader lock and touch members with. Default 4 s.</summary>
    protected virtual TimeSpan Ttl => TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long after <see cref="Ttl"/> an unrenewed key may still be visible: room for ZooKeeper's tick granularity and
    /// Consul's lazy session invalidation. Default 2.5 s.
    /// </summary>
    protected virtual TimeSpan ExpirySlack => TimeSpan.FromSeconds(2.5);

    private CancellationToken Ct => _testDeadline?.Token ?? CancellationToken.None;

    /// <summary>Gives the test a scope of its own and a deadline after which pending operations are cancelled.</summary>
    [SetUp]
    public void CreateScope()
    {
        _scope = "pgha-test-" + Guid.NewGuid().ToString("N")[..12];
        _scopes.Add(_scope);
        _testDeadline = new CancellationTokenSource(TimeSpan.FromMinutes(1) + 4 * (Ttl + ExpirySlack), TimeProvider.System);
    }

    /// <summary>Disposes every connection the test created and deletes every scope it used.</summary>
    [TearDown]
    public async Task CleanUpAsync()
    {
        var failures = new List<Exception>();
        foreach (var connection in _connections)
        {
            try
            {
                await connection.DisposeAsync();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }
        _connections.Clear();

        using var cleanupDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30), TimeProvider.System);
        foreach (var scope in _scopes)
        {
            try
            {
                var cleaner = await CreateDcsAsync(scope, "pgha-test-cleanup", cleanupDeadline.Token);
                await using (cleaner)
                    await cleaner.DeleteClusterAsync(cleanupDeadline.Token);
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }
        _scopes.Clear();
        _testDeadline?.Dispose();
        _testDeadline = null;
        if (failures.Count > 0) throw new AggregateException("Cleaning up after the test failed.", failures);
    }

    /// <summary>Of eight members racing for the lock at once, each over its own connection, exactly one wins and the cluster shows it as holder.</summary>
    [Test]
    public async Task OfConcurrentAcquirersExactlyOneWins()
    {
        var racers = new IDcs[8];
        for (var i = 0; i < racers.Length; i++) racers[i] = await ConnectAsync($"node{i + 1}");

        var results = await Task.WhenAll(racers.Select(racer => Task.Run(() => racer.TryAcquireLeaderLockAsync(Ttl, Ct))));

        var winners = racers.Zip(results).Where(r => r.Second is not null).ToArray();
        Assert.That(winners, Has.Length.EqualTo(1), "exactly one of the concurrent acquirers must get the lock");
        var (winner, winnerLock) = winners[0];
        var cluster = await racers[0].LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(winnerLock!.Holder, Is.EqualTo(winner.MemberName), "the returned lock names its acquirer");
            Assert.That(cluster.Leader?.Holder, Is.EqualTo(winner.MemberName), "the cluster shows the winner as holder");
        }
    }

    /// <summary>Acquiring while another member holds the lock returns null and leaves the lock as it was.</summary>
    [Test]
    public async Task AcquireReturnsNullWhileAnotherMemberHoldsTheLock()
    {
        var holder = await ConnectAsync("node1");
        var contender = await ConnectAsync("node2");
        Assert.That(await holder.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        var before = (await contender.LoadClusterAsync(Ct)).Leader;

        var attempt = await contender.TryAcquireLeaderLockAsync(Ttl, Ct);

        var after = (await contender.LoadClusterAsync(Ct)).Leader;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(attempt, Is.Null, "the lock is held by node1");
            Assert.That(after, Is.EqualTo(before), "a failed acquire changes nothing");
            Assert.That(after?.Holder, Is.EqualTo("node1"));
        }
    }

    /// <summary>The holder renews its lock, with the lock it acquired or one it read, and keeps it past the original expiry.</summary>
    [Test]
    public async Task HolderRenewsAndKeepsTheLock()
    {
        var holder = await ConnectAsync("node1");
        var observer = await ConnectAsync("node2");
        var validity = holder.GuaranteedLockValidity(Ttl);
        var acquired = await holder.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(acquired, Is.Not.Null);

        await ElapseAsync(validity * 0.6);
        var renewed = await holder.TryRenewLeaderLockAsync(acquired!, Ttl, Ct);
        Assert.That(renewed?.Holder, Is.EqualTo("node1"), "renewing with the acquired lock succeeds");

        // Past the guarantee of the acquire, within that of the renewal.
        await ElapseAsync(validity * 0.6);
        var read = (await observer.LoadClusterAsync(Ct)).Leader;
        Assert.That(read?.Holder, Is.EqualTo("node1"), "the renewed lock outlives the validity of the acquire");

        var renewedFromRead = await holder.TryRenewLeaderLockAsync(read!, Ttl, Ct);
        Assert.That(renewedFromRead?.Holder, Is.EqualTo("node1"), "renewing with the lock as read succeeds too");
    }

    /// <summary>Renewing with a lock that was released and re-acquired since returns null; the current lock stays and renews.</summary>
    [Test]
    public async Task RenewWithAStaleLockReturnsNull()
    {
        var holder = await ConnectAsync("node1");
        var first = await holder.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(first, Is.Not.Null);
        Assert.That(await holder.ReleaseLeaderLockAsync(Ct), Is.True);
        var second = await holder.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(second, Is.Not.Null);

        var stale = await holder.TryRenewLeaderLockAsync(first!, Ttl, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.Null, "the key was replaced since the first lock was taken");
            Assert.That((await holder.LoadClusterAsync(Ct)).Leader?.Holder, Is.EqualTo("node1"), "a refused renewal leaves the lock in place");
            Assert.That(await holder.TryRenewLeaderLockAsync(second!, Ttl, Ct), Is.Not.Null, "the current lock renews");
        }
    }

    /// <summary>A member renewing a lock held by another member gets null, and the lock is unchanged.</summary>
    [Test]
    public async Task RenewByAMemberThatIsNotTheHolderReturnsNull()
    {
        var holder = await ConnectAsync("node1");
        var other = await ConnectAsync("node2");
        var acquired = await holder.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(acquired, Is.Not.Null);
        var before = (await other.LoadClusterAsync(Ct)).Leader;

        var withAcquired = await other.TryRenewLeaderLockAsync(acquired!, Ttl, Ct);
        var withRead = await other.TryRenewLeaderLockAsync(before!, Ttl, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(withAcquired, Is.Null, "node2 renewing node1's lock as acquired");
            Assert.That(withRead, Is.Null, "node2 renewing node1's lock as read");
            Assert.That((await other.LoadClusterAsync(Ct)).Leader, Is.EqualTo(before), "the lock is unchanged");
        }
    }

    /// <summary>
    /// A holder that restarts within the TTL — a new connection in the same name while the old one's TTL carrier (lease,
    /// session) is still alive — renews the lock it reads and keeps it, as Patroni re-adopts its own leader key; the lock
    /// then renews over the new connection. Another member can neither renew that lock nor take it by forging the holder.
    /// </summary>
    [Test]
    public async Task ARestartedHolderRenewsTheLockItReadsAndAnotherMemberCannot()
    {
        var before = await ConnectAsync("node1");
        Assert.That(await before.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        var other = await ConnectAsync("node2");
        var seenByOther = (await other.LoadClusterAsync(Ct)).Leader;
        Assert.That(seenByOther?.Holder, Is.EqualTo("node1"));
        var notTheirs = await other.TryRenewLeaderLockAsync(seenByOther!, Ttl, Ct);
        var forged = await other.TryRenewLeaderLockAsync(seenByOther! with { Holder = "node2" }, Ttl, Ct);

        var after = await ConnectAsync("node1");
        var read = (await after.LoadClusterAsync(Ct)).Leader;
        var kept = await after.TryRenewLeaderLockAsync(read!, Ttl, Ct);
        var again = kept is null ? null : await after.TryRenewLeaderLockAsync(kept, Ttl, Ct);
        var seen = (await other.LoadClusterAsync(Ct)).Leader;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notTheirs, Is.Null, "node2 renewing node1's lock as read");
            Assert.That(forged, Is.Null, "node2 renewing node1's lock in its own name");
            Assert.That(kept?.Holder, Is.EqualTo("node1"), "the restarted node1 renews the lock it read");
            Assert.That(again?.Holder, Is.EqualTo("node1"), "and keeps renewing it with the lock the renewal returned");
            Assert.That(seen?.Holder, Is.EqualTo("node1"), "the cluster still shows node1 as holder");
            Assert.That(seen?.Version, Is.EqualTo(again?.Version), "the lock the cluster shows is the one the new connection renews");
        }
    }

    /// <summary>Releasing a lock held by another member returns false and leaves the lock unchanged and renewable by its holder.</summary>
    [Test]
    public async Task ReleaseByANonHolderReturnsFalseAndLeavesTheLockUnchanged()
    {
        var holder = await ConnectAsync("node1");
        var other = await ConnectAsync("node2");
        var acquired = await holder.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(acquired, Is.Not.Null);
        var before = (await other.LoadClusterAsync(Ct)).Leader;

        var released = await other.ReleaseLeaderLockAsync(Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(released, Is.False);
            Assert.That((await other.LoadClusterAsync(Ct)).Leader, Is.EqualTo(before), "the lock is unchanged");
            Assert.That(await holder.TryRenewLeaderLockAsync(acquired!, Ttl, Ct), Is.Not.Null, "the holder still renews it");
        }
    }

    /// <summary>The holder releases its lock; the cluster is then unlocked and another member can acquire.</summary>
    [Test]
    public async Task ReleaseByTheHolderLetsAnotherMemberAcquire()
    {
        var holder = await ConnectAsync("node1");
        var successor = await ConnectAsync("node2");
        Assert.That(await holder.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        Assert.That(await successor.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Null, "precondition: the lock is held");

        Assert.That(await holder.ReleaseLeaderLockAsync(Ct), Is.True);

        Assert.That((await successor.LoadClusterAsync(Ct)).IsUnlocked, Is.True, "released means gone");
        var acquired = await successor.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(acquired?.Holder, Is.EqualTo("node2"));
    }

    /// <summary>
    /// A lock nobody renews is still there 1 s before its guaranteed validity runs out and gone by ttl + slack, after
    /// which another member can acquire.
    /// </summary>
    [Test]
    public async Task UnrenewedLockOutlivesItsGuaranteedValidityAndExpiresAfterTtl()
    {
        var holder = await ConnectAsync("node1");
        var observer = await ConnectAsync("node2");
        var stillThere = StillThereAfter(holder);
        Assert.That(await holder.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);

        await ElapseAsync(stillThere);
        Assert.That((await observer.LoadClusterAsync(Ct)).Leader?.Holder, Is.EqualTo("node1"), $"the lock must live for {holder.GuaranteedLockValidity(Ttl)} after the acquire");

        await ElapseAsync(Ttl + ExpirySlack - stillThere);
        Assert.That((await observer.LoadClusterAsync(Ct)).Leader, Is.Null, $"an unrenewed lock must be gone {Ttl + ExpirySlack} after the acquire");
        Assert.That(await observer.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null, "an expired lock can be acquired");
    }

    /// <summary>A member key nobody touches again is still there 1 s before the guaranteed validity runs out and gone by ttl + slack.</summary>
    [Test]
    public async Task UntouchedMemberKeyOutlivesTheGuaranteedValidityAndExpiresAfterTtl()
    {
        var node = await ConnectAsync("node1");
        var observer = await ConnectAsync("node2");
        var stillThere = StillThereAfter(node);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);

        await ElapseAsync(stillThere);
        Assert.That((await observer.LoadClusterAsync(Ct)).HasMember("node1"), Is.True, $"the member key must live for {node.GuaranteedLockValidity(Ttl)} after the touch");

        await ElapseAsync(Ttl + ExpirySlack - stillThere);
        Assert.That((await observer.LoadClusterAsync(Ct)).HasMember("node1"), Is.False, $"an untouched member key must be gone {Ttl + ExpirySlack} after the touch");
    }

    /// <summary>
    /// A touched member reads back byte-identical to <see cref="MemberCodec.Serialize"/> of what was written (non-ASCII
    /// tag text included), with equal typed fields and tags; touching again replaces it.
    /// </summary>
    [Test]
    public async Task TouchedMemberRoundTripsByteIdentically()
    {
        var node = await ConnectAsync("node1");
        var observer = await ConnectAsync("node2");
        var member = SampleMember("node1") with
        {
            ReceiveLsn = 67420024,
            ReplayLsn = 67419000,
            ReplicationState = "streaming",
            PendingRestart = true,
            Tags = new MemberTags(
            [
                KeyValuePair.Create("nofailover", "false"),
                KeyValuePair.Create("failover_priority", "2"),
                KeyValuePair.Create("clonefrom", "true"),
                KeyValuePair.Create("replicatefrom", "\"node2\""),
                KeyValuePair.Create("zone", "\"Zürich-Höngg ☃ 🐘\""),
                KeyValuePair.Create("rack", """{"row":7,"slots":[1,2.5,null]}"""),
            ]),
        };

        await node.TouchMemberAsync(member, Ttl, Ct);

        var read = (await observer.LoadClusterAsync(Ct)).GetMember("node1");
        Assert.That(read, Is.Not.Null, "the touched member is listed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(read!.RawJson, Is.EqualTo(MemberCodec.Serialize(member)), "the stored value is exactly what was serialized");
            Assert.That(read.ConnUrl, Is.EqualTo(member.ConnUrl));
            Assert.That(read.ApiUrl, Is.EqualTo(member.ApiUrl));
            Assert.That(read.State, Is.EqualTo(member.State));
            Assert.That(read.Role, Is.EqualTo(member.Role));
            Assert.That(read.AgentVersion, Is.EqualTo(member.AgentVersion));
            Assert.That(read.XlogLocation, Is.EqualTo(member.XlogLocation));
            Assert.That(read.ReceiveLsn, Is.EqualTo(member.ReceiveLsn));
            Assert.That(read.ReplayLsn, Is.EqualTo(member.ReplayLsn));
            Assert.That(read.Timeline, Is.EqualTo(member.Timeline));
            Assert.That(read.ReplicationState, Is.EqualTo(member.ReplicationState));
            Assert.That(read.PendingRestart, Is.EqualTo(member.PendingRestart));
            Assert.That(TagValues(read.Tags), Is.EqualTo(TagValues(member.Tags)), "tags, in order, with equal JSON values");
            Assert.That(JsonNode.Parse(read.Tags["zone"]!)!.GetValue<string>(), Is.EqualTo("Zürich-Höngg ☃ 🐘"));
            Assert.That(read.Tags.FailoverPriority, Is.EqualTo(2));
            Assert.That(read.Tags.NoFailover, Is.False);
            Assert.That(read.Tags.CloneFrom, Is.True);
            Assert.That(read.Tags.ReplicateFrom, Is.EqualTo("node2"));
        }

        var changed = read with { State = "stopped", XlogLocation = 67500000, PendingRestart = false };
        await node.TouchMemberAsync(changed, Ttl, Ct);

        var reread = (await observer.LoadClusterAsync(Ct)).GetMember("node1");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reread?.RawJson, Is.EqualTo(MemberCodec.Serialize(changed)), "touching again replaces the value");
            Assert.That(reread?.State, Is.EqualTo("stopped"));
        }
    }

    /// <summary>
    /// <c>initialize</c> is create-only: a second initialize fails and leaves the value; the leader then replaces
    /// <c>""</c> with the system identifier by compare-and-set with the version it read, and a stale version fails.
    /// </summary>
    [Test]
    public async Task InitializeIsCreateOnlyAndTheLeaderSetsTheSystemIdByCompareAndSet()
    {
        var winner = await ConnectAsync("node1");
        var loser = await ConnectAsync("node2");
        Assert.That(await winner.TryInitializeAsync("", Ct), Is.True, "the first initialize creates the key");
        Assert.That(await loser.TryInitializeAsync("", Ct), Is.False, "a second initialize loses the race");
        Assert.That(await loser.TryInitializeAsync("1111111111111111111", Ct), Is.False, "whatever it would write");
        var bootstrapping = (await winner.LoadClusterAsync(Ct)).Initialize;
        Assert.That(bootstrapping?.SystemId, Is.EqualTo(""), "the losing initialize changed nothing");

        Assert.That(await winner.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        Assert.That(await winner.TryWriteAsync(ClusterKey.Initialize, "7268616322854375442", WriteCondition.IfVersion(bootstrapping!.Version), Ct), Is.True,
            "CAS with the version read");
        var stale = await loser.TryWriteAsync(ClusterKey.Initialize, "1111111111111111111", WriteCondition.IfVersion(bootstrapping.Version), Ct);

        var initialized = (await loser.LoadClusterAsync(Ct)).Initialize;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.False, "CAS with the version from before the leader's write");
            Assert.That(initialized?.SystemId, Is.EqualTo("7268616322854375442"));
            Assert.That(initialized?.IsValidSystemId, Is.True);
        }
    }

    /// <summary>
    /// Writes honour their condition: create-only fails on an existing key, compare-and-set succeeds with the current
    /// version (from any member) and fails with a stale one; a failed write changes nothing.
    /// </summary>
    /// <param name="key">The key written.</param>
    /// <param name="first">The value created.</param>
    /// <param name="second">The value written by CAS.</param>
    /// <param name="third">The value written by CAS from another member.</param>
    [TestCase(ClusterKey.Config, """{"ttl":30}""", """{"ttl":20,"loop_wait":5}""", """{"ttl":30,"pause":true}""")]
    [TestCase(ClusterKey.Failover, """{}""", """{"leader":"node1","member":"node2"}""", """{}""")]
    [TestCase(ClusterKey.Sync, """{"leader":"node1","sync_standby":null}""", """{"leader":"node1","sync_standby":"node2"}""", """{"leader":"node2","sync_standby":"node1"}""")]
    public async Task WritesHonourCreateOnlyAndCompareAndSet(ClusterKey key, string first, string second, string third)
    {
        var writer = await ConnectAsync("node1");
        var other = await ConnectAsync("node2");
        Assert.That(await writer.TryWriteAsync(key, first, WriteCondition.IfAbsent, Ct), Is.True, "create-only on an absent key");
        Assert.That(await other.TryWriteAsync(key, second, WriteCondition.IfAbsent, Ct), Is.False, "create-only on an existing key");
        var created = Stored(await writer.LoadClusterAsync(Ct), key);
        Assert.That(created.Value, Is.EqualTo(first), "the failed create-only changed nothing");

        Assert.That(await writer.TryWriteAsync(key, second, WriteCondition.IfVersion(created.Version!.Value), Ct), Is.True, "CAS with the current version");
        var stale = await other.TryWriteAsync(key, third, WriteCondition.IfVersion(created.Version.Value), Ct);
        var afterStale = Stored(await other.LoadClusterAsync(Ct), key);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.False, "CAS with a stale version");
            Assert.That(afterStale.Value, Is.EqualTo(second), "the failed CAS changed nothing");
        }

        Assert.That(await other.TryWriteAsync(key, third, WriteCondition.IfVersion(afterStale.Version!.Value), Ct), Is.True, "CAS from another member with the version it read");
        Assert.That(Stored(await writer.LoadClusterAsync(Ct), key).Value, Is.EqualTo(third));
    }

    /// <summary>Any JSON written to a cluster key reads back byte-identical as the key's raw value: whitespace, key order, number text and non-ASCII text are kept.</summary>
    /// <param name="key">The key written.</param>
    /// <param name="value">The JSON text.</param>
    [TestCase(ClusterKey.Config, """{ "ttl": 30,"loop_wait":10, "postgresql": {"parameters": {"max_connections": 100, "work_mem": "4MB"}, "use_pg_rewind": true}, "comment": "Zürich ☃ 🐘 \"quoted\" \\ \/ \u00e9", "ratio": 1.0, "big": 123456789012345678901234567890, "nested": [[], {}, null] }""")]
    [TestCase(ClusterKey.Failover, """{}""")]
    [TestCase(ClusterKey.Sync, """{"leader":"node1","sync_standby":"node2,node3","quorum":1}""")]
    [TestCase(ClusterKey.History, """[[1,25165984,"no recovery target specified","2024-05-01T10:00:00.123456+00:00","node1"],[2,50331744,"no recovery target specified"]]""")]
    [TestCase(ClusterKey.Status, """{"optime":67420024,"slots":{"node2":67420024,"node_3":67419000},"retain_slots":["node2","node_3"]}""")]
    [TestCase(ClusterKey.Failsafe, """{"node1":"http://10.0.0.1:8008/patroni","nöde-2":"https://[fd00::2]:8008/patroni"}""")]
    public async Task JsonValuesRoundTripByteIdentically(ClusterKey key, string value)
    {
        var writer = await ConnectAsync("node1");
        var reader = await ConnectAsync("node2");

        Assert.That(await writer.TryWriteAsync(key, value, WriteCondition.Always, Ct), Is.True);

        Assert.That(Stored(await reader.LoadClusterAsync(Ct), key).Value, Is.EqualTo(value));
    }

    /// <summary>Deleting with a stale version fails and keeps the key; with the current version it deletes; deleting an absent key fails.</summary>
    [Test]
    public async Task TryDeleteHonoursVersions()
    {
        var node = await ConnectAsync("node1");
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, Ct), Is.True);
        var first = Stored(await node.LoadClusterAsync(Ct), ClusterKey.Config).Version!.Value;
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, """{"ttl":20}""", WriteCondition.Always, Ct), Is.True);
        var second = Stored(await node.LoadClusterAsync(Ct), ClusterKey.Config).Version!.Value;

        Assert.That(await node.TryDeleteAsync(ClusterKey.Config, WriteCondition.IfVersion(first), Ct), Is.False, "stale version");
        Assert.That(Stored(await node.LoadClusterAsync(Ct), ClusterKey.Config).Value, Is.EqualTo("""{"ttl":20}"""), "a refused delete keeps the key");
        Assert.That(await node.TryDeleteAsync(ClusterKey.Config, WriteCondition.IfVersion(second), Ct), Is.True, "current version");
        Assert.That((await node.LoadClusterAsync(Ct)).Config, Is.Null, "deleted");
        Assert.That(await node.TryDeleteAsync(ClusterKey.Config, WriteCondition.Always, Ct), Is.False, "the key is absent");
    }

    /// <summary>Deleting the cluster removes every key: no leader, no members, no cluster keys.</summary>
    [Test]
    public async Task DeleteClusterRemovesEveryKey()
    {
        var leader = await ConnectAsync("node1");
        var replica = await ConnectAsync("node2");
        Assert.That(await leader.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        await leader.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        await replica.TouchMemberAsync(SampleMember("node2"), Ttl, Ct);
        foreach (var (key, value) in OneValuePerKey)
            Assert.That(await leader.TryWriteAsync(key, value, WriteCondition.Always, Ct), Is.True, $"writing {key}");
        var populated = await replica.LoadClusterAsync(Ct);
        Assert.That(populated.Members, Has.Length.EqualTo(2), "precondition: the cluster is populated");

        await leader.DeleteClusterAsync(Ct);

        AssertEmpty(await replica.LoadClusterAsync(Ct));
    }

    /// <summary>A scope nobody has written to loads as an empty cluster.</summary>
    [Test]
    public async Task AFreshScopeLoadsAsEmpty()
    {
        var node = await ConnectAsync("node1");

        AssertEmpty(await node.LoadClusterAsync(Ct));
    }

    /// <summary>
    /// Two scopes are separate clusters, even when one scope name is a prefix of the other: keys, locks and deletion in
    /// one do not show in the other.
    /// </summary>
    [Test]
    public async Task ScopesAreIsolated()
    {
        var here = await ConnectAsync("node1");
        var there = await ConnectAsync("node1", _scope + "-other");
        Assert.That(await here.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        await here.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        Assert.That(await here.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, Ct), Is.True);

        AssertEmpty(await there.LoadClusterAsync(Ct));
        Assert.That(await there.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null, "the other scope has its own lock");
        Assert.That(await there.TryWriteAsync(ClusterKey.Config, """{"ttl":20}""", WriteCondition.IfAbsent, Ct), Is.True, "and its own keys");
        await there.DeleteClusterAsync(Ct);

        var cluster = await here.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Leader?.Holder, Is.EqualTo("node1"));
            Assert.That(cluster.Members.Select(m => m.Name), Is.EqualTo(new[] { "node1" }));
            Assert.That(cluster.Config?.RawJson, Is.EqualTo("""{"ttl":30}"""));
        }
    }

    /// <summary>A waiting member wakes soon after another member changes a key that drives decisions (leader, config or failover).</summary>
    /// <param name="change">Which key the other member changes: <c>leader</c>, <c>config</c> or <c>failover</c>.</param>
    [TestCase("leader")]
    [TestCase("config")]
    [TestCase("failover")]
    public async Task WaitForChangeWakesSoonAfterAnotherMemberChangesADecisionKey(string change)
    {
        var watcher = await ConnectAsync("node1");
        var writer = await ConnectAsync("node2");
        await watcher.LoadClusterAsync(Ct);
        var woken = watcher.WaitForChangeAsync(3 * Promptly, Ct);

        switch (change)
        {
            case "leader":
                Assert.That(await writer.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
                break;
            case "config":
                Assert.That(await writer.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, Ct), Is.True);
                break;
            case "failover":
                Assert.That(await writer.TryWriteAsync(ClusterKey.Failover, """{"member":"node2"}""", WriteCondition.Always, Ct), Is.True);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "unknown change");
        }

        Assert.That(await woken.WaitAsync(Promptly, TimeProvider.System, Ct), Is.True, $"woken by the {change} change");
    }

    /// <summary>A waiting member wakes when the leader lock expires, without anyone writing.</summary>
    [Test]
    public async Task WaitForChangeWakesWhenTheLeaderLockExpires()
    {
        var holder = await ConnectAsync("node1");
        var watcher = await ConnectAsync("node2");
        Assert.That(await holder.TryAcquireLeaderLockAsync(Ttl, Ct), Is.Not.Null);
        await watcher.LoadClusterAsync(Ct);
        var woken = watcher.WaitForChangeAsync(2 * (Ttl + ExpirySlack) + Promptly, Ct);

        await ElapseAsync(Ttl + ExpirySlack);

        Assert.That(await woken.WaitAsync(Promptly, TimeProvider.System, Ct), Is.True, "woken by the lock's expiry");
    }

    /// <summary>
    /// With no change to a decision key the wait lasts its whole timeout and returns false; members touching their keys
    /// and the leader writing status meanwhile do not wake it.
    /// </summary>
    [Test]
    public async Task WaitForChangeReturnsFalseAfterItsTimeoutWhenNoDecisionKeyChanges()
    {
        var watcher = await ConnectAsync("node1");
        var busy = await ConnectAsync("node2");
        var timeout = TimeSpan.FromSeconds(2);
        await watcher.LoadClusterAsync(Ct);
        var woken = watcher.WaitForChangeAsync(timeout, Ct);

        await busy.TouchMemberAsync(SampleMember("node2"), Ttl, Ct);
        Assert.That(await busy.TryWriteAsync(ClusterKey.Status, """{"optime":67420024}""", WriteCondition.Always, Ct), Is.True);
        await ElapseAsync(timeout / 2);
        Assert.That(woken.IsCompleted, Is.False, "the wait must not end before its timeout");

        await ElapseAsync(timeout / 2 + TimeSpan.FromSeconds(0.5));
        Assert.That(await woken.WaitAsync(Promptly, TimeProvider.System, Ct), Is.False, "timed out without a decision-relevant change");
    }

    /// <summary>
    /// Against a DCS that does not answer, every operation throws <see cref="DcsUnavailableException"/> (not false, not
    /// null, not another exception) within the request timeout plus 3 s.
    /// </summary>
    [Test]
    public async Task UnreachableDcsThrowsDcsUnavailableException()
    {
        var reachable = await ConnectAsync("node1");
        var held = await reachable.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(held, Is.Not.Null, "precondition: a lock in the backend's own version format");
        var unreachable = await CreateUnreachableDcsAsync(_scope, "node1", UnreachableRequestTimeout, Ct);
        _connections.Add(unreachable);

        (string Name, Func<Task> Call)[] operations =
        [
            (nameof(IDcs.LoadClusterAsync), () => unreachable.LoadClusterAsync(Ct)),
            (nameof(IDcs.TryAcquireLeaderLockAsync), () => unreachable.TryAcquireLeaderLockAsync(Ttl, Ct)),
            (nameof(IDcs.TryRenewLeaderLockAsync), () => unreachable.TryRenewLeaderLockAsync(held!, Ttl, Ct)),
            (nameof(IDcs.ReleaseLeaderLockAsync), () => unreachable.ReleaseLeaderLockAsync(Ct)),
            (nameof(IDcs.TouchMemberAsync), () => unreachable.TouchMemberAsync(SampleMember("node1"), Ttl, Ct)),
            (nameof(IDcs.TryWriteAsync), () => unreachable.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.Always, Ct)),
            (nameof(IDcs.TryDeleteAsync), () => unreachable.TryDeleteAsync(ClusterKey.Config, WriteCondition.Always, Ct)),
            (nameof(IDcs.DeleteClusterAsync), () => unreachable.DeleteClusterAsync(Ct)),
        ];
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, call) in operations)
            {
                var started = TimeProvider.System.GetTimestamp();
                var error = await CaptureAsync(call);
                var took = TimeProvider.System.GetElapsedTime(started);
                Assert.That(error, Is.TypeOf<DcsUnavailableException>(), name);
                Assert.That(took, Is.LessThanOrEqualTo(UnreachableRequestTimeout + UnreachableGrace), $"{name} must give up within the request timeout");
            }
        }
    }

    /// <summary>Every operation given an already cancelled token throws <see cref="OperationCanceledException"/> and changes nothing.</summary>
    [Test]
    public async Task PreCancelledTokenThrowsOperationCanceledAndChangesNothing()
    {
        var node = await ConnectAsync("node1");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var token = cancelled.Token;

        // Writes that would create something, against an empty cluster.
        await AssertCancelledAsync(nameof(IDcs.LoadClusterAsync), () => node.LoadClusterAsync(token));
        await AssertCancelledAsync(nameof(IDcs.TryAcquireLeaderLockAsync), () => node.TryAcquireLeaderLockAsync(Ttl, token));
        await AssertCancelledAsync(nameof(IDcs.TouchMemberAsync), () => node.TouchMemberAsync(SampleMember("node1"), Ttl, token));
        await AssertCancelledAsync(nameof(IDcs.TryWriteAsync), () => node.TryWriteAsync(ClusterKey.Failover, "{}", WriteCondition.Always, token));
        await AssertCancelledAsync(nameof(IDcs.WaitForChangeAsync), () => node.WaitForChangeAsync(TimeSpan.FromSeconds(1), token));
        AssertEmpty(await node.LoadClusterAsync(Ct));

        // Writes that would remove something, against a populated cluster.
        var held = await node.TryAcquireLeaderLockAsync(Ttl, Ct);
        Assert.That(held, Is.Not.Null);
        await node.TouchMemberAsync(SampleMember("node1"), Ttl, Ct);
        Assert.That(await node.TryWriteAsync(ClusterKey.Config, "{}", WriteCondition.Always, Ct), Is.True);
        var before = await node.LoadClusterAsync(Ct);
        await AssertCancelledAsync(nameof(IDcs.TryRenewLeaderLockAsync), () => node.TryRenewLeaderLockAsync(held!, Ttl, token));
        await AssertCancelledAsync(nameof(IDcs.ReleaseLeaderLockAsync), () => node.ReleaseLeaderLockAsync(token));
        await AssertCancelledAsync(nameof(IDcs.TryDeleteAsync), () => node.TryDeleteAsync(ClusterKey.Config, WriteCondition.Always, token));
        await AssertCancelledAsync(nameof(IDcs.DeleteClusterAsync), () => node.DeleteClusterAsync(token));
        var after = await node.LoadClusterAsync(Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(after.Leader, Is.EqualTo(before.Leader), "the lock is untouched");
            Assert.That(after.GetMember("node1")?.RawJson, Is.EqualTo(before.GetMember("node1")?.RawJson), "the member is untouched");
            Assert.That(after.Config?.RawJson, Is.EqualTo("{}"), "config is untouched");
        }
    }

    /// <summary>Cancelling the token of a long wait ends it promptly with <see cref="OperationCanceledException"/>.</summary>
    [Test]
    public async Task CancellingWaitForChangeThrowsOperationCanceledPromptly()
    {
        var watcher = await ConnectAsync("node1");
        await watcher.LoadClusterAsync(Ct);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var wait = watcher.WaitForChangeAsync(TimeSpan.FromMinutes(10), cancellation.Token);

        await cancellation.CancelAsync();

        var error = await CaptureAsync(() => wait.WaitAsync(Promptly, TimeProvider.System));
        Assert.That(error, Is.InstanceOf<OperationCanceledException>());
    }

    private async Task<IDcs> ConnectAsync(string memberName, string? scope = null)
    {
        scope ??= _scope;
        if (!_scopes.Contains(scope)) _scopes.Add(scope);
        var connection = await CreateDcsAsync(scope, memberName, Ct);
        _connections.Add(connection);
        return connection;
    }

    // The expiry tests look 1 s before the guarantee runs out; they need a guarantee longer than that.
    private TimeSpan StillThereAfter(IDcs dcs)
    {
        var validity = dcs.GuaranteedLockValidity(Ttl);
        Assert.That(validity, Is.LessThanOrEqualTo(Ttl), "GuaranteedLockValidity(ttl) cannot exceed ttl: keys vanish at most ttl after a renewal");
        Assert.That(validity, Is.GreaterThan(TimeSpan.FromSeconds(1)), "GuaranteedLockValidity(Ttl) must exceed 1 s for this suite; override Ttl");
        return validity - TimeSpan.FromSeconds(1);
    }

    private static (ClusterKey Key, string Value)[] OneValuePerKey =>
    [
        (ClusterKey.Initialize, "7268616322854375442"),
        (ClusterKey.Config, """{"ttl":30}"""),
        (ClusterKey.Failover, "{}"),
        (ClusterKey.Sync, """{"leader":"node1","sync_standby":null}"""),
        (ClusterKey.History, "[]"),
        (ClusterKey.Status, """{"optime":1}"""),
        (ClusterKey.Failsafe, """{"node1":"http://10.0.0.1:8008/patroni"}"""),
    ];

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

    private static (string? Value, DcsVersion? Version) Stored(ClusterState cluster, ClusterKey key) => key switch
    {
        ClusterKey.Initialize => (cluster.Initialize?.SystemId, cluster.Initialize?.Version),
        ClusterKey.Config => (cluster.Config?.RawJson, cluster.Config?.Version),
        ClusterKey.Failover => (cluster.Failover?.RawJson, cluster.Failover?.Version),
        ClusterKey.Sync => (cluster.Sync?.RawJson, cluster.Sync?.Version),
        ClusterKey.History => (cluster.History?.RawJson, cluster.History?.Version),
        ClusterKey.Status => (cluster.Status?.RawJson, cluster.Status?.Version),
        ClusterKey.Failsafe => (cluster.Failsafe?.RawJson, cluster.Failsafe?.Version),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a cluster key"),
    };

    private static void AssertEmpty(ClusterState cluster)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Leader, Is.Null, "leader");
            Assert.That(cluster.Members, Is.Empty, "members");
            foreach (var key in Enum.GetValues<ClusterKey>())
                Assert.That(Stored(cluster, key).Value, Is.Null, key.ToString());
            Assert.That(cluster.Problems, Is.Empty, "problems");
        }
    }

    // Tag values compared as JSON, not as text: the codec escapes non-ASCII on the way out.
    private static (string Name, string Value)[] TagValues(MemberTags tags) =>
        [.. tags.Entries.Select(e => (e.Key, PatroniJson.Serialize(JsonNode.Parse(e.Value))))];

    private static async Task AssertCancelledAsync(string operation, Func<Task> call) =>
        Assert.That(await CaptureAsync(call), Is.InstanceOf<OperationCanceledException>(), operation);

    private static async Task<Exception?> CaptureAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
