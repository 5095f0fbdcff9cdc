using Microsoft.Extensions.Time.Testing;
using Moq;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Postgres;
using PgHa.Simulation;
using PgHa.Testing;
using PgHa.Watchdog;

namespace PgHa.Core.Tests.Loop;

/// <summary>
/// The executor's side of the watchdog (patroni-compat.md §5.11) on a fake device that records every keepalive on the
/// test clock and knows when it would have fired: armed after the lock is confirmed, kept alive at every renewal,
/// disarmed when the node demotes or is paused; with <c>mode: required</c> an unusable one keeps the node from leading.
/// </summary>
[TestFixture]
public sealed class HaLoopWatchdogTests
{
    private static readonly TimeSpan LoopWait = TimeSpan.FromSeconds(10);
    private const string SystemId = "7000000000000000001";
    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
        _store.TryWrite(Prefix, ClusterKeys.Initialize, SystemId, WriteCondition.Always);
    }

    private static PostgresStatus Replica => new()
    {
        DataDirectory = DataDirectoryState.Initialized, SystemId = SystemId, IsRunning = true, Role = PostgresRole.Replica, Timeline = 1, Lsn = 100,
    };

    private static PostgresStatus Primary => Replica with { Role = PostgresRole.Primary };

    private static Mock<IPostgresControl> Postgres(PostgresStatus status)
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(status);
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.PromoteAsync(It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.StopForDemoteAsync(It.IsAny<DemoteMode>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        return pg;
    }

    private (HaLoop Loop, FakeWatchdogDevice Device) Loop(Mock<IPostgresControl> pg, WatchdogMode mode, FakeWatchdogBehaviour behaviour = FakeWatchdogBehaviour.Working)
    {
        var device = new FakeWatchdogDevice(_time, behaviour);
        var loop = new HaLoop(new InMemoryDcs(_store, "service", "batman", "node1"), pg.Object, new Mock<IPeerStatusClient>().Object, new HaNodeOptions
        {
            Identity = new NodeIdentity("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
        }, _time)
        {
            Watchdog = new LeaderWatchdog(new WatchdogOptions { Mode = mode }, device),
        };
        return (loop, device);
    }

    private async Task<HaCycleResult> CycleAsync(HaLoop loop)
    {
        var result = await loop.RunCycleAsync(CancellationToken.None);
        await loop.Background;
        return result;
    }

    [Test]
    public async Task TheLeaderArmsTheWatchdogWhenItTakesTheLockAndKeepsItAliveAtEveryRenewal()
    {
        var (loop, device) = Loop(Postgres(Primary), WatchdogMode.Required);
        for (var cycle = 0; cycle < 6; cycle++)
        {
            await CycleAsync(loop);
            _time.Advance(LoopWait);
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node1"));
            Assert.That((device.Opens, device.Timeout, device.Keepalives.Count), Is.EqualTo((1, 25, 6)), "ttl 30 - safety_margin 5; one keepalive per renewal");
            Assert.That(device.CheckFired(), Is.False);
            Assert.That(loop.WatchdogFailed, Is.False);
        }
    }

    [Test]
    public async Task ALeaderThatLosesItsLockDisarmsTheWatchdogAtTheDemotion()
    {
        var pg = Postgres(Primary);
        var (loop, device) = Loop(pg, WatchdogMode.Required);
        await CycleAsync(loop);
        _store.TryWrite(Prefix, ClusterKeys.Leader, "node2", WriteCondition.Always);

        var result = await CycleAsync(loop);

        Assert.That(result.Plan.Describe(), Is.EqualTo("demote-immediatenolock"));
        Assert.That((device.IsOpen, device.MagicCloses, loop.Watchdog!.IsRunning), Is.EqualTo((false, 1, false)));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(device.CheckFired(), Is.False, "a disarmed watchdog does not reset the demoted node");
    }

    [Test]
    public async Task MaintenanceModeDisarmsTheWatchdogOfTheLeader()
    {
        var (loop, device) = Loop(Postgres(Primary), WatchdogMode.Automatic);
        await CycleAsync(loop);
        Assert.That(device.IsOpen, Is.True);
        _store.TryWrite(Prefix, ClusterKeys.Config, """{"ttl":30,"loop_wait":10,"retry_timeout":10,"pause":true}""", WriteCondition.Always);
        _time.Advance(LoopWait);

        await CycleAsync(loop);

        Assert.That((device.IsOpen, device.MagicCloses, _store.PeekLeader(Prefix)?.Holder), Is.EqualTo((false, 1, "node1")));
    }

    [Test]
    public async Task AReplicaWhoseRequiredWatchdogIsARegularFileNeverTakesTheFreeLock()
    {
        var pg = Postgres(Replica);
        var (loop, device) = Loop(pg, WatchdogMode.Required, FakeWatchdogBehaviour.RegularFile);

        var result = await CycleAsync(loop);

        Assert.That(result.Plan.Describe(), Is.EqualTo("none"));
        Assert.That(result.Plan.Reason, Does.Contain("the watchdog is required but cannot be used"));
        Assert.That((_store.PeekLeader(Prefix) is null, device.Opens, loop.WatchdogFailed), Is.EqualTo((true, 0, true)));
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Never);
    }

    [Test]
    public async Task ALockWonWithAWatchdogThatFailsToActivateIsGivenBackBeforeAnyPromotion()
    {
        var pg = Postgres(Replica);
        var (loop, device) = Loop(pg, WatchdogMode.Required, FakeWatchdogBehaviour.IoctlFails);

        var first = await CycleAsync(loop);
        _time.Advance(LoopWait);
        var second = await CycleAsync(loop);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Plan.Describe(), Is.EqualTo("acquire-lock{won:[promote] lost:[]}"), "the device looked usable until it was tried");
            Assert.That(_store.PeekLeader(Prefix), Is.Null, "the lock was given back");
            Assert.That((device.Opens, device.IsOpen), Is.EqualTo((1, false)));
            Assert.That(second.Plan.Describe(), Is.EqualTo("none"), "after the failed activation the node no longer races");
            Assert.That(loop.WatchdogFailed, Is.True);
        }
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Never);
    }

    [Test]
    public async Task AnAutomaticWatchdogThatCannotBeUsedDoesNotStopTheNodeFromLeading()
    {
        var pg = Postgres(Replica);
        var (loop, _) = Loop(pg, WatchdogMode.Automatic, FakeWatchdogBehaviour.RegularFile);

        await CycleAsync(loop);

        Assert.That((_store.PeekLeader(Prefix)?.Holder, loop.WatchdogFailed), Is.EqualTo(("node1", false)));
        pg.Verify(p => p.PromoteAsync(It.IsAny<CancellationToken>()), Times.Once);
    }
}
