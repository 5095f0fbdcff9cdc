using Microsoft.Extensions.Logging.Testing;
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
/// The executor side of the loop: the decider is table-tested elsewhere; here the loop must carry plans out faithfully
/// against the in-memory DCS (real lock semantics) and a mocked PostgreSQL port.
/// </summary>
[TestFixture]
public sealed class HaLoopTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
    }

    private InMemoryDcs Dcs(string member) => new(_store, "service", "batman", member);

    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");

    private static Mock<IPostgresControl> Postgres(PostgresStatus status)
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(status);
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        return pg;
    }

    private static Mock<IPeerStatusClient> Peers(params PeerStatus[] answers)
    {
        var peers = new Mock<IPeerStatusClient>();
        peers.Setup(p => p.GetStatusAsync(It.IsAny<Member>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .Returns((Member m, TimeSpan _, CancellationToken _) => Task.FromResult(answers.FirstOrDefault(a => a.Name == m.Name) ?? PeerStatus.Unreachable(m.Name)));
        return peers;
    }

    private HaLoop Loop(IDcs dcs, Mock<IPostgresControl> pg, Mock<IPeerStatusClient>? peers = null) =>
        new(dcs, pg.Object, (peers ?? Peers()).Object, new HaNodeOptions
        {
            Identity = new NodeIdentity(dcs.MemberName, "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
        }, _time);

    private static PostgresStatus Replica(long lsn = 100) => new()
    {
        DataDirectory = DataDirectoryState.Initialized, SystemId = "7000000000000000001", IsRunning = true,
        Role = PostgresRole.Replica, Timeline = 1, Lsn = lsn,
    };

    private static PostgresStatus Primary(long lsn = 100) => Replica(lsn) with { Role = PostgresRole.Primary };

    private void Seed(string key, string value) => _store.TryWrite(Prefix, key, value, WriteCondition.Always);

    [Test]
    public async Task HealthiestReplicaTakesTheFreeLockArmsTheFenceAndPromotesOnce()
    {
        Seed(ClusterKeys.Initialize, "7000000000000000001");
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(Dcs("node1"), pg);
        var sentAt = _time.GetUtcNow();

        var result = await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Plan.Describe(), Is.EqualTo("acquire-lock{won:[promote] lost:[]}"));
            Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node1"));
            Assert.That(loop.Memory.LockValidUntil, Is.EqualTo(sentAt + Ttl));
        }
        pg.Verify(p => p.SetWriteFenceAsync(sentAt + Ttl - TimeSpan.FromSeconds(1), It.IsAny<CancellationToken>()), Times.Once);
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task ALockThatCannotBeFencedIsGivenBackAndNothingIsPromoted()
    {
        var pg = Postgres(Replica());
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).ThrowsAsync(new IOException("fencer is gone"));
        var loop = Loop(Dcs("node1"), pg);

        await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;

        Assert.That(_store.PeekLeader(Prefix), Is.Null, "the lock must be released when the fence cannot be armed");
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Never);
    }

    [Test]
    public async Task APrimaryThatLosesItsLockStopsImmediatelyWithoutReleasingAnything()
    {
        var other = Dcs("node2");
        await other.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        var pg = Postgres(Primary());
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.ImmediateNoLock, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(Dcs("node1"), pg);

        var result = await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;

        Assert.That(result.Plan.Describe(), Is.EqualTo("demote-immediatenolock"));
        Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node2"));
        pg.Verify(p => p.StopForDemoteAsync(DemoteMode.ImmediateNoLock, It.IsAny<CancellationToken>()), Times.Once);
        pg.Verify(p => p.SetWriteFenceAsync(null, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task APrimaryRidesOutADcsOutageWhileItsLockIsGuaranteedAndDemotesBeforeItEnds()
    {
        var dcs = Dcs("node1");
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.Offline, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(dcs, pg);
        await loop.RunCycleAsync(CancellationToken.None); // takes the lock
        await loop.Background;
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Primary());

        dcs.Reachable = false;
        _time.Advance(TimeSpan.FromSeconds(10));
        var early = await loop.RunCycleAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(10));
        var late = await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(early.Plan.Describe(), Is.EqualTo("none"), early.Plan.Reason);
            Assert.That(late.Plan.Describe(), Is.EqualTo("demote-offline"), late.Plan.Reason);
        }
        pg.Verify(p => p.StopForDemoteAsync(DemoteMode.Offline, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task PublishesItsMemberKeyInPatroniFormatEveryCycle()
    {
        var pg = Postgres(Replica(lsn: 67109256));
        var other = Dcs("node2");
        await other.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        pg.Setup(p => p.FollowAsync(It.IsAny<Member?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(Dcs("node1"), pg);

        await loop.RunCycleAsync(CancellationToken.None);

        var member = _store.ReadAll(Prefix).Single(e => e.Key == "members/node1").Value;
        Assert.That(member, Is.EqualTo("""{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"replica","version":"3.0.2","xlog_location":67109256,"timeline":1}"""));
    }

    [Test]
    public async Task ThePrimaryKeepsOneSlotPerOtherMemberAndSyncsOnlyWhenMembersChange()
    {
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        // PostgreSQL ends up with exactly the planned slots (an unsettled plan is synced again next cycle).
        pg.Setup(p => p.SyncReplicationSlotsAsync(It.IsAny<ReplicationSlotPlan>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((ReplicationSlotPlan plan, CancellationToken _) => plan.Slots.ToDictionary(s => s.Name, _ => 1L));
        var loop = Loop(Dcs("node1"), pg);
        await loop.RunCycleAsync(CancellationToken.None); // wins the lock, promotes
        await loop.Background;
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Primary());
        await Dcs("node-2.b").TouchMemberAsync(new Member("node-2.b") { State = "running" }, Ttl, CancellationToken.None);

        await loop.RunCycleAsync(CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);

        pg.Verify(p => p.SyncReplicationSlotsAsync(It.Is<ReplicationSlotPlan>(s => s.Slots.Select(x => x.Name).SequenceEqual(new[] { "node_2_b" })), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task ASlotThatCouldNotBeDroppedYetIsSyncedAgainNextCycle()
    {
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        // The first sync leaves an extra slot behind (it was still active: a member that just moved to cascade).
        var syncs = 0;
        pg.Setup(p => p.SyncReplicationSlotsAsync(It.IsAny<ReplicationSlotPlan>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((ReplicationSlotPlan plan, CancellationToken _) =>
            {
                var existing = plan.Slots.ToDictionary(s => s.Name, _ => 1L);
                if (plan.Slots.Length > 0 && syncs++ == 0) existing["node_3"] = 1L;
                return existing;
            });
        var loop = Loop(Dcs("node1"), pg);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Primary());
        await Dcs("node2").TouchMemberAsync(new Member("node2") { State = "running" }, Ttl, CancellationToken.None);

        await loop.RunCycleAsync(CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);

        pg.Verify(p => p.SyncReplicationSlotsAsync(It.Is<ReplicationSlotPlan>(s => s.Slots.Select(x => x.Name).SequenceEqual(new[] { "node2" })), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Test]
    public async Task ASlotPlanProblemIsLoggedWhenItAppearsNotOnEveryCycleThePlanIsSyncedAgain()
    {
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        // PostgreSQL keeps a slot it cannot drop yet, so the plan never settles and is synced on every cycle.
        pg.Setup(p => p.SyncReplicationSlotsAsync(It.IsAny<ReplicationSlotPlan>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((ReplicationSlotPlan plan, CancellationToken _) => plan.Slots.ToDictionary(s => s.Name, _ => 1L).Append(new("busy", 1L)).ToDictionary());
        var log = new FakeLogger<HaLoop>();
        var dcs = Dcs("node1");
        var loop = new HaLoop(dcs, pg.Object, Peers().Object, new HaNodeOptions
        {
            Identity = new NodeIdentity("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
        }, _time, log);
        await loop.RunCycleAsync(CancellationToken.None); // wins the lock, promotes
        await loop.Background;
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(Primary());
        // Two members whose names map to the same slot name: a problem of the plan.
        await Dcs("node-2").TouchMemberAsync(new Member("node-2") { State = "running" }, Ttl, CancellationToken.None);
        await Dcs("node_2").TouchMemberAsync(new Member("node_2") { State = "running" }, Ttl, CancellationToken.None);
        string[] Problems() => [.. log.Collector.GetSnapshot().Where(r => r.Id.Id == 2301).Select(r => r.Message)];

        for (var i = 0; i < 3; i++) await loop.RunCycleAsync(CancellationToken.None);
        var once = Problems();
        _store.TryDelete(Prefix, "members/node_2", WriteCondition.Always);
        await loop.RunCycleAsync(CancellationToken.None);
        var resolved = Problems();
        await Dcs("node_2").TouchMemberAsync(new Member("node_2") { State = "running" }, Ttl, CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);
        var reappeared = Problems();
        await Dcs("node.3").TouchMemberAsync(new Member("node.3") { State = "running" }, Ttl, CancellationToken.None);
        await Dcs("node-3").TouchMemberAsync(new Member("node-3") { State = "running" }, Ttl, CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.RunCycleAsync(CancellationToken.None);
        var another = Problems();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(once, Has.Length.EqualTo(1));
            Assert.That(once[0], Does.Contain("'node_2'"));
            Assert.That(resolved, Has.Length.EqualTo(1), "no log when the problem goes away");
            Assert.That(reappeared, Has.Length.EqualTo(2), "logged again when it comes back, once");
            Assert.That(reappeared[1], Is.EqualTo(once[0]));
            Assert.That(another, Has.Length.EqualTo(3), "a new problem is logged once; the standing one is not repeated");
            Assert.That(another[2], Does.Contain("'node_3'"));
        }
    }

    /// <summary>
    /// Moves the fake clock in steps (50 ms by default) until <paramref name="task"/> completes (at most <paramref name="steps"/>
    /// steps), giving the background action real time after each step to run and register its next delay: a delay
    /// registered after an advance would otherwise wait for the next one.
    /// </summary>
    private async Task AdvanceUntilAsync(Task task, int steps, int stepMilliseconds = 50)
    {
        for (var i = 0; i < steps && !task.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(stepMilliseconds));
            await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System));
        }
    }

    [Test]
    public async Task ASwitchoverStopsGracefullyReleasesTheLockAndComesBackAsTheNewLeadersReplicaInTheSameAction()
    {
        // node1 leads; node2 is a member and the named candidate of a switchover request.
        Seed(ClusterKeys.Initialize, "7000000000000000001");
        var candidate = Dcs("node2");
        Seed("members/node2", """{"conn_url":"postgres://127.0.0.1:5433/postgres","api_url":"http://127.0.0.1:8009/patroni","state":"running","role":"replica","xlog_location":100,"timeline":1}""");
        var me = Dcs("node1");
        await me.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        Seed(ClusterKeys.Failover, """{"leader":"node1","member":"node2"}""");
        var pg = Postgres(Primary());
        var order = new List<string>();
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>()))
            .Callback(() => order.Add("stop graceful")).Returns(Task.CompletedTask);
        pg.Setup(p => p.FollowAsync(It.IsAny<Member?>(), It.IsAny<CancellationToken>()))
            .Callback((Member? m, CancellationToken _) => order.Add($"follow {m?.Name ?? "nobody"} (leader key: {_store.PeekLeader(Prefix)?.Holder ?? "none"})"))
            .Returns(Task.CompletedTask);
        var loop = Loop(me, pg, Peers(new PeerStatus("node2", true) { Role = MemberRole.Replica, Lsn = 100, Timeline = 1 }));

        var result = await loop.RunCycleAsync(CancellationToken.None);

        Assert.That(result.Plan.Describe(), Does.Contain("demote-graceful"));
        Assert.That(_store.PeekLeader(Prefix), Is.Null, "the lock is released right after the graceful stop");
        Assert.That(loop.Background.IsCompleted, Is.False, "the demotion waits for the candidate to take the lock");
        // The candidate takes the lock: not followed while its member key still says replica (it has not promoted).
        await candidate.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        await AdvanceUntilAsync(loop.Background, steps: 5);
        Assert.That(loop.Background.IsCompleted, Is.False, "the demoted node waits for the new leader to run as a primary");
        // Promoted, it publishes role master; the demoted node notices at its next look and follows it.
        Seed("members/node2", """{"conn_url":"postgres://127.0.0.1:5433/postgres","api_url":"http://127.0.0.1:8009/patroni","state":"running","role":"master","xlog_location":200,"timeline":2}""");
        await AdvanceUntilAsync(loop.Background, steps: 20);
        Assert.That(loop.Background.IsCompleted, Is.True, "the demoted node follows the promoted leader within a few polls");
        await loop.Background;

        Assert.That(order, Is.EqualTo(new[] { "stop graceful", "follow node2 (leader key: node2)" }));
        Assert.That(loop.Memory.Busy, Is.Null);
        Assert.That(loop.Memory.HeldLock, Is.Null);
    }

    [Test]
    public async Task AfterAGracefulDemotionWithNoPrimaryLeaderWithinTwoLoopWaitsTheNodeStartsAsAReplicaOfNobody()
    {
        Seed(ClusterKeys.Initialize, "7000000000000000001");
        Seed("members/node2", """{"conn_url":"postgres://127.0.0.1:5433/postgres","api_url":"http://127.0.0.1:8009/patroni","state":"running","role":"replica","xlog_location":100,"timeline":1}""");
        var me = Dcs("node1");
        await me.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        Seed(ClusterKeys.Failover, """{"leader":"node1","member":"node2"}""");
        var pg = Postgres(Primary());
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.FollowAsync(null, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(me, pg, Peers(new PeerStatus("node2", true) { Role = MemberRole.Replica, Lsn = 100, Timeline = 1 }));

        await loop.RunCycleAsync(CancellationToken.None);
        await AdvanceUntilAsync(loop.Background, steps: 30, stepMilliseconds: 1000); // 2 × loop_wait (10 s) = 20 s, and some
        Assert.That(loop.Background.IsCompleted, Is.True, "after 2 × loop_wait without a primary leader it starts anyway");
        await loop.Background;

        pg.Verify(p => p.FollowAsync(null, It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(_store.PeekLeader(Prefix), Is.Null);
    }

    [Test]
    public async Task ShutdownOfTheLeaderStopsPostgresCleanlyAndHandsTheLockBackAtOnce()
    {
        var pg = Postgres(Replica());
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(Dcs("node1"), pg);
        await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;

        await loop.ShutdownAsync(CancellationToken.None);

        Assert.That(_store.PeekLeader(Prefix), Is.Null);
        pg.Verify(p => p.StopForDemoteAsync(DemoteMode.Graceful, It.IsAny<CancellationToken>()), Times.Once);
        pg.Verify(p => p.SetWriteFenceAsync(null, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task ShutdownInMaintenanceModeLeavesPostgresAndTheLockAlone()
    {
        Seed(ClusterKeys.Config, """{"ttl":30,"loop_wait":10,"retry_timeout":10,"pause":true}""");
        var other = Dcs("node2");
        await other.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        var pg = Postgres(Replica());
        var loop = Loop(Dcs("node1"), pg);
        await loop.RunCycleAsync(CancellationToken.None);

        await loop.ShutdownAsync(CancellationToken.None);

        pg.Verify(p => p.StopForDemoteAsync(It.IsAny<DemoteMode>(), It.IsAny<CancellationToken>()), Times.Never);
        Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node2"));
    }

    [Test]
    public async Task AnUnobservablePostgresSkipsTheCycleWithoutTouchingTheDcs()
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new IOException("socket gone"));
        var loop = Loop(Dcs("node1"), pg);

        var result = await loop.RunCycleAsync(CancellationToken.None);

        Assert.That(result.Plan.Describe(), Is.EqualTo("none"));
        Assert.That(_store.ReadAll(Prefix), Is.Empty, "no lock race and no member key on a guess");
    }

    [Test]
    public async Task ABugInOneCycleDoesNotStopTheLoop()
    {
        var calls = 0;
        var pg = new Mock<IPostgresControl>();
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => { calls++; return Replica(); });
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var loop = Loop(Dcs("node1"), pg);
        loop.PlanFilter = plan => calls == 1 ? throw new InvalidOperationException("planted bug") : plan;
        using var cts = new CancellationTokenSource();

        var running = loop.RunAsync(cts.Token);
        // FakeTimeProvider.Advance does not wait for the continuations it releases, so wait for them here.
        for (var i = 0; i < 10 && loop.CycleCount == 0; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            SpinWait.SpinUntil(() => loop.CycleCount > 0, TimeSpan.FromSeconds(2));
        }
        await cts.CancelAsync();
        try { await running; } catch (OperationCanceledException) { }

        Assert.That(loop.FailedCycles, Is.EqualTo(1));
        Assert.That(loop.CycleCount, Is.GreaterThanOrEqualTo(1), "the loop went on after the failed cycle");
    }
}
