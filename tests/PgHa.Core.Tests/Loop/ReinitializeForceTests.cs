using Microsoft.Extensions.Time.Testing;
using Moq;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Operations;
using PgHa.Postgres;
using PgHa.Testing;

namespace PgHa.Core.Tests.Loop;

/// <summary>
/// <c>POST /reinitialize</c> while a background action runs: without force the action is reported and left alone; with
/// <c>{"force": true}</c> it is cancelled and the re-clone starts once it has stopped (Patroni's
/// <c>reinitialize(force)</c>); a promotion or demotion is never interrupted.
/// </summary>
[TestFixture]
public sealed class ReinitializeForceTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;
    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");

    [SetUp]
    public async Task SeedALeaderAsync()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
        _store.TryWrite(Prefix, ClusterKeys.Initialize, "7000000000000000001", WriteCondition.Always);
        _store.TryWrite(Prefix, "members/node1", """{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"master","xlog_location":100,"timeline":1}""", WriteCondition.Always);
        await new InMemoryDcs(_store, "service", "batman", "node1").TryAcquireLeaderLockAsync(Ttl, CancellationToken.None);
    }

    private HaLoop Replica(Mock<IPostgresControl> pg) =>
        new(new InMemoryDcs(_store, "service", "batman", "node2"), pg.Object, Mock.Of<IPeerStatusClient>(), new HaNodeOptions
        {
            Identity = new NodeIdentity("node2", "postgres://127.0.0.1:5433/postgres", "http://127.0.0.1:8009/patroni"),
        }, _time);

    /// <summary>A PostgreSQL whose restart runs until it is cancelled, and whose re-clone records its source.</summary>
    private static (Mock<IPostgresControl> Pg, Mock<IPostgresAdministration> Admin, TaskCompletionSource RestartCancelled, List<string> Clones) HangingRestart()
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        var admin = pg.As<IPostgresAdministration>();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clones = new List<string>();
        admin.Setup(a => a.RestartAsync(It.IsAny<Member?>(), It.IsAny<CancellationToken>()))
            .Returns(async (Member? _, CancellationToken ct) =>
            {
                using var registration = ct.Register(() => cancelled.TrySetResult());
                await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, ct);
            });
        admin.Setup(a => a.ReinitializeAsync(It.IsAny<Member>(), It.IsAny<CancellationToken>()))
            .Callback((Member source, CancellationToken _) => clones.Add(source.Name))
            .Returns(Task.CompletedTask);
        return (pg, admin, cancelled, clones);
    }

    [Test]
    public async Task WithoutForceARunningRestartIsReportedAndKeepsRunning()
    {
        var (pg, admin, cancelled, clones) = HangingRestart();
        var loop = Replica(pg);
        var restart = loop.RestartAsync(new RestartRequest(), CancellationToken.None);
        Assert.That(loop.Memory.Busy?.Kind, Is.EqualTo(BusyActionKind.Restart));

        var refused = await loop.ReinitializeAsync(force: false, CancellationToken.None);

        Assert.That(refused, Is.EqualTo("restart already in progress"));
        Assert.That(loop.Memory.Busy?.Kind, Is.EqualTo(BusyActionKind.Restart));
        Assert.That(cancelled.Task.IsCompleted, Is.False, "the restart was left alone");
        Assert.That(clones, Is.Empty);
        // Clean up: force it now, so the hanging restart ends with the test.
        Assert.That(await loop.ReinitializeAsync(force: true, CancellationToken.None), Is.Null);
        await restart;
        await loop.Background;
    }

    [Test]
    public async Task ForceCancelsTheRunningRestartAndThenReclonesFromTheLeader()
    {
        var (pg, admin, cancelled, clones) = HangingRestart();
        var loop = Replica(pg);
        var restart = loop.RestartAsync(new RestartRequest(), CancellationToken.None);
        Assert.That(loop.Memory.Busy?.Kind, Is.EqualTo(BusyActionKind.Restart));

        var answer = await loop.ReinitializeAsync(force: true, CancellationToken.None);

        Assert.That(answer, Is.Null, "the reinitialize started");
        Assert.That(cancelled.Task.IsCompleted, Is.True, "the restart's cancellation token fired");
        Assert.That((await restart).Message, Is.EqualTo("restart failed"), "the restart request learns its restart did not happen");
        await loop.Background;
        Assert.That(clones, Is.EqualTo(new[] { "node1" }), "re-cloned once, from the leader");
        Assert.That(loop.Memory.Busy, Is.Null);
        admin.Verify(a => a.GetPendingRestartAsync(It.IsAny<CancellationToken>()), Times.Never, "the cancelled restart did not run to its end");
    }

    [Test]
    public async Task ForceDoesNotInterruptADemotion()
    {
        var (pg, _, _, clones) = HangingRestart();
        // node2 runs a primary without the lock (node1 holds it): the loop demotes it at once.
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(new PostgresStatus
        {
            DataDirectory = DataDirectoryState.Initialized, SystemId = "7000000000000000001", IsRunning = true,
            Role = PostgresRole.Primary, Timeline = 1, Lsn = 100,
        });
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var demoteCancelled = false;
        pg.Setup(p => p.StopForDemoteAsync(DemoteMode.ImmediateNoLock, It.IsAny<CancellationToken>()))
            .Returns(async (DemoteMode _, CancellationToken ct) =>
            {
                using var registration = ct.Register(() => demoteCancelled = true);
                await stopping.Task;
            });
        var loop = Replica(pg);
        var cycle = await loop.RunCycleAsync(CancellationToken.None);
        Assert.That(cycle.Plan.Describe(), Is.EqualTo("demote-immediatenolock"));
        Assert.That(loop.Memory.Busy?.Kind, Is.EqualTo(BusyActionKind.Demote));

        var answer = await loop.ReinitializeAsync(force: true, CancellationToken.None);

        Assert.That(answer, Is.EqualTo("demote already in progress"));
        Assert.That(demoteCancelled, Is.False);
        stopping.SetResult();
        await loop.Background;
        Assert.That(clones, Is.Empty);
    }
}
