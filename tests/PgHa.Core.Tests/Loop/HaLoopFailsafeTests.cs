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
/// Failsafe mode's executor side: a confirmation round moves the write fence to the round's send time plus ttl minus
/// the margin only when every member accepted; the replica's <c>POST /failsafe</c> answer and the promise it records.
/// </summary>
[TestFixture]
public sealed class HaLoopFailsafeTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly string Prefix = ClusterKeys.Prefix("service", "batman");
    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _store = new InMemoryDcsStore(_time);
        Seed(ClusterKeys.Initialize, "7000000000000000001");
        Seed(ClusterKeys.Config, """{"ttl":30,"loop_wait":10,"retry_timeout":10,"failsafe_mode":true}""");
        Seed(ClusterKeys.Failsafe, """{"node1":"http://node1:8008/patroni","node2":"http://node2:8008/patroni","node3":"http://node3:8008/patroni"}""");
    }

    private void Seed(string key, string value) => _store.TryWrite(Prefix, key, value, WriteCondition.Always);

    /// <summary>The other members' keys, as the leader's failsafe key is built from them.</summary>
    private async Task PublishReplicasAsync()
    {
        foreach (var name in new[] { "node2", "node3" })
            await new InMemoryDcs(_store, "service", "batman", name).TouchMemberAsync(new Member(name)
            {
                ConnUrl = $"postgres://{name}:5432/postgres", ApiUrl = $"http://{name}:8008/patroni", State = "running", Role = MemberRole.Replica,
            }, Ttl, CancellationToken.None);
    }

    private static PostgresStatus Replica => new()
    {
        DataDirectory = DataDirectoryState.Initialized, SystemId = "7000000000000000001", IsRunning = true,
        Role = PostgresRole.Replica, Timeline = 1, Lsn = 100,
    };

    private static PostgresStatus Primary => Replica with { Role = PostgresRole.Primary };

    private static Mock<IPostgresControl> Postgres(PostgresStatus status)
    {
        var pg = new Mock<IPostgresControl>(MockBehavior.Strict);
        pg.Setup(p => p.GetStatusAsync(It.IsAny<CancellationToken>())).ReturnsAsync(status);
        pg.Setup(p => p.SetWriteFenceAsync(It.IsAny<DateTimeOffset?>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        pg.Setup(p => p.StopForDemoteAsync(It.IsAny<DemoteMode>(), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        return pg;
    }

    /// <summary>Peers that answer <c>POST /failsafe</c> as <paramref name="accepts"/> says (and nothing else).</summary>
    private static Mock<IPeerStatusClient> Peers(Func<string, bool> accepts, List<string> asked)
    {
        var peers = new Mock<IPeerStatusClient>();
        peers.Setup(p => p.GetStatusAsync(It.IsAny<Member>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .Returns((Member m, TimeSpan _, CancellationToken _) => Task.FromResult(PeerStatus.Unreachable(m.Name)));
        peers.As<IFailsafePeerClient>().Setup(p => p.ConfirmFailsafeAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<FailsafePing>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .Returns((string m, string _, FailsafePing _, TimeSpan _, CancellationToken _) =>
            {
                lock (asked) asked.Add(m);
                return Task.FromResult(accepts(m));
            });
        return peers;
    }

    private HaLoop Loop(IDcs dcs, Mock<IPostgresControl> pg, Mock<IPeerStatusClient> peers) =>
        new(dcs, pg.Object, peers.Object, new HaNodeOptions
        {
            Identity = new NodeIdentity(dcs.MemberName, "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"),
            BootstrapConfig = GlobalConfig.Default with { FailsafeMode = true },
        }, _time);

    /// <summary>node1 leads with its lock renewed at the start; then the DCS stops answering.</summary>
    private async Task<(HaLoop Loop, OutageDcs Dcs)> LeaderCutOffAsync(Mock<IPostgresControl> pg, Mock<IPeerStatusClient> peers)
    {
        await PublishReplicasAsync();
        var dcs = new OutageDcs(new InMemoryDcs(_store, "service", "batman", "node1"));
        var loop = Loop(dcs, pg, peers);
        var first = await loop.RunCycleAsync(CancellationToken.None);
        Assert.That(first.Plan.Describe(), Does.StartWith("acquire-lock"), "node1 takes the free lock as the running primary");
        await loop.RunCycleAsync(CancellationToken.None);
        dcs.Down = true;
        _time.Advance(TimeSpan.FromSeconds(10));
        return (loop, dcs);
    }

    [Test]
    public async Task AFullyConfirmedRoundMovesTheFenceToSendTimePlusTtlMinusTheMargin()
    {
        var asked = new List<string>();
        var pg = Postgres(Primary);
        var (loop, _) = await LeaderCutOffAsync(pg, Peers(_ => true, asked));

        var cutAt = _time.GetUtcNow();
        // The read fails after retry_timeout; the round is sent then (confirmations are instant here).
        var result = await AdvanceUntilAsync(loop.RunCycleAsync(CancellationToken.None));
        var after = _time.GetUtcNow();
        // The test clock keeps moving while the cycle runs, so the round's send time is read back from what it granted.
        Assert.That(loop.Memory.LockValidUntil, Is.Not.Null);
        var sentAt = loop.Memory.LockValidUntil!.Value - Ttl;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(sentAt - cutAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(10)), "the round starts only after the read's retry_timeout");
            Assert.That(sentAt, Is.LessThanOrEqualTo(after), "valid until send time + ttl, never later");
            Assert.That(result.Plan.Describe(), Is.EqualTo("confirm-failsafe(node2,node3){confirmed:[] refused:[demote-offline]}"));
            Assert.That(asked.Order(StringComparer.Ordinal).ToArray(), Is.EqualTo(new[] { "node2", "node3" }));
            Assert.That(loop.Memory.Failsafe.ConfirmedUntil, Is.EqualTo(sentAt + Ttl));
            Assert.That(loop.Memory.Failsafe.IsActive(sentAt, Ttl), Is.True);
        }
        pg.Verify(p => p.SetWriteFenceAsync(sentAt + Ttl - TimeSpan.FromSeconds(1), It.IsAny<CancellationToken>()), Times.Once);
        pg.Verify(p => p.StopForDemoteAsync(It.IsAny<DemoteMode>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Test]
    public async Task OneMissingConfirmationMovesNothingAndDemotesOnceTheLockGuaranteeIsShort()
    {
        var asked = new List<string>();
        var pg = Postgres(Primary);
        var (loop, _) = await LeaderCutOffAsync(pg, Peers(m => m != "node3", asked));
        var fenceBefore = loop.Memory.LockValidUntil;

        await AdvanceUntilAsync(loop.RunCycleAsync(CancellationToken.None));
        await loop.Background;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(asked, Has.Member("node3"));
            Assert.That(loop.Memory.Failsafe.ConfirmedUntil, Is.Null);
        }
        pg.Verify(p => p.SetWriteFenceAsync(It.Is<DateTimeOffset?>(d => d > fenceBefore - TimeSpan.FromSeconds(1)), It.IsAny<CancellationToken>()), Times.Never);
        pg.Verify(p => p.StopForDemoteAsync(DemoteMode.Offline, It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task AReplicaAcceptsOnceAndThenDoesNotRaceForTheFreeLockWithinTtl()
    {
        var loop = Loop(new InMemoryDcs(_store, "service", "batman", "node2"), Postgres(Replica), Peers(_ => true, []));
        await loop.RunCycleAsync(CancellationToken.None);
        var answer = loop.AcceptFailsafe(new FailsafePing("node1", "postgres://node1:5432/postgres", "http://node1:8008/patroni"));
        _time.Advance(Ttl - TimeSpan.FromSeconds(1));
        var within = await loop.RunCycleAsync(CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(answer, Is.EqualTo(FailsafeAnswer.Accepted));
            Assert.That(within.Plan.Describe(), Is.EqualTo("none"));
            Assert.That(within.Plan.Reason, Does.Contain("node1 is running as the leader in failsafe mode"));
            Assert.That(_store.PeekLeader(Prefix), Is.Null);
        }
    }

    [Test]
    public async Task ALockHolderOrAPrimaryRefusesAndFailsafeModeOffIsDisabled()
    {
        var ping = new FailsafePing("node9", "postgres://node9:5432/postgres", "http://node9:8008/patroni");
        var primary = Loop(new InMemoryDcs(_store, "service", "batman", "node1"), Postgres(Primary), Peers(_ => true, []));
        await primary.RunCycleAsync(CancellationToken.None);
        Seed(ClusterKeys.Config, """{"ttl":30,"loop_wait":10,"retry_timeout":10}""");
        var off = Loop(new InMemoryDcs(_store, "service", "batman", "node2"), Postgres(Replica), Peers(_ => true, []));
        await off.RunCycleAsync(CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(primary.AcceptFailsafe(ping).Status, Is.EqualTo(500));
            Assert.That(primary.Memory.Failsafe.Leader, Is.Null);
            Assert.That(off.AcceptFailsafe(ping), Is.EqualTo(FailsafeAnswer.Disabled));
        }
    }

    /// <summary>Advances the fake clock in small steps until <paramref name="cycle"/> ends (its deadlines run on it).</summary>
    private async Task<HaCycleResult> AdvanceUntilAsync(Task<HaCycleResult> cycle)
    {
        for (var i = 0; i < 400 && !cycle.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(cycle, Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System));
        }
        Assert.That(cycle.IsCompleted, Is.True, "the cycle did not end within 40 s of fake time");
        return await cycle;
    }

    /// <summary>The in-memory DCS behind a switch: while <see cref="Down"/>, calls hang until their deadline.</summary>
    private sealed class OutageDcs(InMemoryDcs inner) : IDcs
    {
        public bool Down { get; set; }
        public string MemberName => inner.MemberName;
        public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => inner.GuaranteedLockValidity(ttl);
        public Task<ClusterState> LoadClusterAsync(CancellationToken ct) => Call(() => inner.LoadClusterAsync(ct), ct);
        public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken ct) => Call(() => inner.TryAcquireLeaderLockAsync(ttl, ct), ct);
        public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken ct) => Call(() => inner.TryRenewLeaderLockAsync(held, ttl, ct), ct);
        public Task<bool> ReleaseLeaderLockAsync(CancellationToken ct) => Call(() => inner.ReleaseLeaderLockAsync(ct), ct);
        public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken ct) => Call(async () => { await inner.TouchMemberAsync(self, ttl, ct); return true; }, ct);
        public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken ct) => Call(() => inner.TryWriteAsync(key, value, condition, ct), ct);
        public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken ct) => Call(() => inner.TryDeleteAsync(key, condition, ct), ct);
        public Task DeleteClusterAsync(CancellationToken ct) => Call(async () => { await inner.DeleteClusterAsync(ct); return true; }, ct);
        public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken ct) => inner.WaitForChangeAsync(timeout, ct);
        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private async Task<T> Call<T>(Func<Task<T>> call, CancellationToken ct)
        {
            if (!Down) return await call();
            var never = new TaskCompletionSource<T>();
            using var _ = ct.Register(() => never.TrySetCanceled(ct));
            return await never.Task;
        }
    }
}
