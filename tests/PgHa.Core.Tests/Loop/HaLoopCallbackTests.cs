using Microsoft.Extensions.Time.Testing;
using Moq;
using NUnit.Framework;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Postgres;
using PgHa.Testing;

namespace PgHa.Core.Tests.Loop;

/// <summary>
/// Which callback follows which step, and the two hooks the loop waits for: a fake callbacks port records every call
/// in order next to the PostgreSQL steps; the in-memory DCS gives real lock semantics.
/// </summary>
[TestFixture]
public sealed class HaLoopCallbackTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;
    private List<string> _steps = null!;
    private FakeCallbacks _callbacks = null!;

    /// <summary>Records calls into the shared step list; pre_promote answers what the test says.</summary>
    private sealed class FakeCallbacks(List<string> steps) : IPostgresCallbacks
    {
        public Func<Task<CallbackOutcome?>> PrePromote { get; set; } = () => Task.FromResult<CallbackOutcome?>(null);
        public List<TimeSpan> Limits { get; } = [];

        public void Notify(CallbackAction action, MemberRole role)
        {
            lock (steps) steps.Add($"{CallbackActions.ToWire(action)} {PostgresCallbacks.RoleArgument(role)}");
        }

        public Task<CallbackOutcome?> RunPrePromoteAsync(TimeSpan limit, CancellationToken cancellationToken)
        {
            lock (steps) steps.Add("pre_promote");
            Limits.Add(limit);
            return PrePromote();
        }

        public Task<CallbackOutcome?> RunBeforeStopAsync(TimeSpan limit, CancellationToken cancellationToken)
        {
            lock (steps) steps.Add("before_stop");
            Limits.Add(limit);
            return Task.FromResult<CallbackOutcome?>(new CallbackOutcome("before_stop", 1, false, TimeSpan.Zero));
        }
    }

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
        _steps = [];
        _callbacks = new FakeCallbacks(_steps);
        _store.TryWrite(Prefix, ClusterKeys.Initialize, "7000000000000000001", WriteCondition.Always);
    }

    private InMemoryDcs Dcs(string member) => new(_store, "service", "batman", member);

    private Mock<IPostgresControl> Postgres(PostgresStatus status)
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => status);
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(() => Step("promote"));
        pg.Setup(p => p.StopForDemoteAsync(It.IsAny<DemoteMode>(), It.IsAny<CancellationToken>())).Returns(() => Step("stop"));
        pg.Setup(p => p.FollowAsync(It.IsAny<Member?>(), It.IsAny<CancellationToken>())).Returns(() => Step("follow"));
        return pg;
    }

    private Task Step(string name)
    {
        lock (_steps) _steps.Add(name);
        return Task.CompletedTask;
    }

    private HaLoop Loop(IDcs dcs, Mock<IPostgresControl> pg) =>
        new(dcs, pg.Object, new Mock<IPeerStatusClient>().Object, new HaNodeOptions
        {
            Identity = new NodeIdentity(dcs.MemberName, "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
        }, _time, callbacks: _callbacks);

    private static PostgresStatus Replica() => new()
    {
        DataDirectory = DataDirectoryState.Initialized, SystemId = "7000000000000000001", IsRunning = true,
        Role = PostgresRole.Replica, Timeline = 1, Lsn = 100,
    };

    private static CallbackOutcome Exit(int code) => new("pre_promote", code, false, TimeSpan.FromMilliseconds(5));

    private async Task<HaCycleResult> CycleAsync(HaLoop loop)
    {
        var result = await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;
        return result;
    }

    [Test]
    public async Task AFailedPrePromoteReleasesTheLockPromotesNothingAndStaysOutOfTheRaceForTtl()
    {
        _callbacks.PrePromote = () => Task.FromResult<CallbackOutcome?>(Exit(1));
        var pg = Postgres(Replica());
        var loop = Loop(Dcs("node1"), pg);

        var first = await CycleAsync(loop);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Plan.Describe(), Is.EqualTo("acquire-lock{won:[promote] lost:[]}"));
            Assert.That(_store.PeekLeader(Prefix), Is.Null, "a refused promotion must give the lock back");
            Assert.That(_steps, Does.Not.Contain("promote"));
            Assert.That(_steps, Does.Not.Contain("on_role_change master"));
            Assert.That(loop.Memory.PrePromoteFailedAt, Is.EqualTo(_time.GetUtcNow()));
            Assert.That(_callbacks.Limits, Is.EqualTo(new[] { Ttl }), "pre_promote is bounded by ttl");
        }
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Never);

        _time.Advance(TimeSpan.FromSeconds(10));
        var backedOff = await CycleAsync(loop);
        Assert.That(backedOff.Plan.Reason, Does.Contain("pre_promote failed"));
        Assert.That(_store.PeekLeader(Prefix), Is.Null);

        // After ttl the node may race again; this time the script agrees.
        _callbacks.PrePromote = () => Task.FromResult<CallbackOutcome?>(Exit(0));
        _time.Advance(Ttl);
        await CycleAsync(loop);
        Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node1"));
        Assert.That(_steps.SkipWhile(s => s != "promote"), Is.EqualTo(new[] { "promote", "on_role_change master" }));
    }

    [Test]
    public void APlanShowsAPrePromoteBranchOnlyWhenItIsNotTheUsualRelease()
    {
        Assert.That(HaPlan.Of("x", new Promote()).Describe(), Is.EqualTo("promote"));
        Assert.That(HaPlan.Of("x", new Promote { OnPrePromoteFailed = [new ReleaseLock(), new Follow(null)] }).Describe(),
            Is.EqualTo("promote{pre-promote-failed:[release-lock follow(-)]}"));
    }

    [Test]
    public async Task ASuccessfulPrePromoteRunsBeforeThePromotionWhichIsReportedAsARoleChangeToPrimary()
    {
        _callbacks.PrePromote = () => Task.FromResult<CallbackOutcome?>(Exit(0));
        var loop = Loop(Dcs("node1"), Postgres(Replica()));

        await CycleAsync(loop);

        Assert.That(_steps, Is.EqualTo(new[] { "pre_promote", "promote", "on_role_change master" }));
    }

    [Test]
    public async Task APrePromoteThatOutlivesTheLockNeverPromotes()
    {
        var script = new TaskCompletionSource<CallbackOutcome?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _callbacks.PrePromote = () => script.Task;
        var pg = Postgres(Replica());
        var loop = Loop(Dcs("node1"), pg);

        await loop.RunCycleAsync(CancellationToken.None);
        _time.Advance(Ttl + TimeSpan.FromSeconds(1)); // no cycle renewed meanwhile: the guarantee has run out
        script.SetResult(Exit(0));
        await loop.Background;

        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Never);
        Assert.That(_steps, Is.EqualTo(new[] { "pre_promote" }));
    }

    [Test]
    public async Task ADemotedPrimaryRunsBeforeStopThenReportsStopAndItsReturnAsAReplicaIsARoleChange()
    {
        var other = Dcs("node2");
        await other.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        await other.TouchMemberAsync(new Member("node2") { ConnUrl = "postgres://127.0.0.2:5432/postgres", State = "running", Role = MemberRole.Primary }, Ttl, CancellationToken.None);
        var status = Replica() with { Role = PostgresRole.Primary };
        var pg = Postgres(status);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => status);
        var loop = Loop(Dcs("node1"), pg);

        var demote = await CycleAsync(loop);
        status = status with { IsRunning = false };
        var follow = await CycleAsync(loop);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(demote.Plan.Describe(), Is.EqualTo("demote-immediatenolock"));
            Assert.That(follow.Plan.Describe(), Is.EqualTo("follow(node2)"));
            Assert.That(_steps, Is.EqualTo(new[] { "before_stop", "stop", "on_stop master", "follow", "on_role_change replica" }));
            Assert.That(_callbacks.Limits, Is.EqualTo(new[] { TimeSpan.FromSeconds(10) }), "before_stop is bounded by retry_timeout");
        }
    }

    [Test]
    public async Task AnAgentFindingPostgresRunningReportsOnStartOnceAndAStartedReplicaReportsOnStart()
    {
        var other = Dcs("node2");
        await other.TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
        await other.TouchMemberAsync(new Member("node2") { ConnUrl = "postgres://127.0.0.2:5432/postgres", State = "running", Role = MemberRole.Primary }, Ttl, CancellationToken.None);
        var status = Replica() with { Upstream = "node2" };
        var pg = Postgres(status);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => status);
        var loop = Loop(Dcs("node1"), pg);

        await CycleAsync(loop);
        await CycleAsync(loop);
        Assert.That(_steps, Is.EqualTo(new[] { "on_start replica" }), "found running: on_start once, not every cycle");

        status = status with { IsRunning = false };
        await CycleAsync(loop);
        Assert.That(_steps, Is.EqualTo(new[] { "on_start replica", "follow", "on_start replica" }), "a crashed replica started again: on_start, no role change");
    }
}
