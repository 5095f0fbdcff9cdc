using Microsoft.Extensions.Time.Testing;
using PgHa.Cluster;
using Member = PgHa.Cluster.Member;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// How many requests an idle cluster sends to etcd, counted the way <c>bench/failover-vs-patroni</c> counts them: etcd's
/// <c>grpc_server_msg_received_total</c>, summed over methods, on a server of its own (nothing else talks to it). Three
/// connections play an idle 3-node cluster (ttl 10, loop_wait 2) through 30 s of HA-loop cycles in the loop's order —
/// load, renew (the leader), touch the member, wait for a change until loop_wait (the replicas) — on a fake clock, so the
/// count does not depend on how fast this machine is. A regression guard for the design, not a timing test.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdRequestCountTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LoopWait = TimeSpan.FromSeconds(2);
    private const int Cycles = 15; // 30 s at loop_wait 2, the benchmark's idle window

    private EtcdServer _server = null!;

    [OneTimeSetUp]
    public async Task StartOwnServerAsync() => _server = await EtcdServer.StartAsync("pgha-requests");

    [OneTimeTearDown]
    public async Task StopOwnServerAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>
    /// Per idle cycle the leader sends one lease keep-alive (its renewal; the member touch rides on it) and, every other
    /// cycle, one range read (its load: etcd's confirmation of the lock is then ttl/4 old; in between the load comes from
    /// the watch and the renewal needs no txn) and nothing else; a replica sends one keep-alive every other cycle (its
    /// lease is refreshed when older than ttl/4) and nothing else: its loads come from the watch, and a wait creates or
    /// cancels no watch. Prints the counts per node and cycle and the cluster's requests per second.
    /// </summary>
    [Test]
    public async Task IdleCyclesSendAKeepAlivePerLeaderCycleARangeReadEveryOtherAndAKeepAliveEveryOtherReplicaCycle()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2), TimeProvider.System);
        var ct = deadline.Token;
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var scope = EtcdTestEnvironment.NewScope();
        string[] names = ["node1", "node2", "node3"];
        var nodes = names.Select(n => new EtcdDcs(EtcdTestEnvironment.Options(scope, n, _server), time)).ToArray();
        try
        {
            // The loop's first cycle finds nobody leading, so every node waits once; then node1 takes the lock.
            foreach (var node in nodes)
            {
                await node.LoadClusterAsync(ct);
                await node.TouchMemberAsync(Self(node.MemberName, leader: false), Ttl, ct);
            }
            await WaitAllAsync(nodes, time, ct);
            Assert.That(await nodes[0].TryAcquireLeaderLockAsync(Ttl, ct), Is.Not.Null);
            for (var i = 0; i < 3; i++) await CycleAsync(nodes, time, ct, counts: null);

            var counts = names.ToDictionary(n => n, _ => new SortedDictionary<string, long>(StringComparer.Ordinal));
            counts["waits"] = new SortedDictionary<string, long>(StringComparer.Ordinal);
            var before = await _server.ReadMessagesReceivedAsync(ct);
            for (var i = 0; i < Cycles; i++) await CycleAsync(nodes, time, ct, counts);
            var total = Sum(Diff(await _server.ReadMessagesReceivedAsync(ct), before));

            var window = LoopWait * Cycles;
            TestContext.Out.WriteLine($"idle, {Cycles} cycles ({window.TotalSeconds:0} s at loop_wait {LoopWait.TotalSeconds:0} s), etcd gRPC messages received:");
            foreach (var (who, byMethod) in counts)
                TestContext.Out.WriteLine($"  {who,-6} {Sum(byMethod) / (double)Cycles:0.00} per cycle  ({Describe(byMethod)})");
            TestContext.Out.WriteLine($"  all    {total} messages = {total / window.TotalSeconds:0.00} requests/s");

            var replicaKeepAlives = counts["node2"].GetValueOrDefault("LeaseKeepAlive") + counts["node3"].GetValueOrDefault("LeaseKeepAlive");
            var leaderReads = counts["node1"].GetValueOrDefault("Range");
            using (Assert.EnterMultipleScope())
            {
                Assert.That(counts["node1"].Keys, Is.EquivalentTo(new[] { "LeaseKeepAlive", "Range" }), "the leader: keep-alives and range reads only; no renew txn, no put");
                Assert.That(counts["node1"]["LeaseKeepAlive"], Is.EqualTo(Cycles), "the leader: one keep-alive per cycle, none extra for the touch");
                Assert.That(leaderReads, Is.InRange(Cycles / 2, Cycles / 2 + 1), "the leader: a range read every other cycle");
                Assert.That(counts["node2"].Keys.Concat(counts["node3"].Keys), Is.All.EqualTo("LeaseKeepAlive"), "a replica sends keep-alives only");
                Assert.That(counts["node2"].GetValueOrDefault("LeaseKeepAlive"), Is.InRange(Cycles / 2, Cycles / 2 + 1), "node2: a keep-alive every other cycle");
                Assert.That(counts["node3"].GetValueOrDefault("LeaseKeepAlive"), Is.InRange(Cycles / 2, Cycles / 2 + 1), "node3: a keep-alive every other cycle");
                Assert.That(counts["waits"], Is.Empty, "waiting sends nothing: the watch stream stays open");
                Assert.That(total, Is.EqualTo(Cycles + leaderReads + replicaKeepAlives), "nothing else reached etcd");
            }
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30), TimeProvider.System);
            await nodes[0].DeleteClusterAsync(cleanup.Token);
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    /// <summary>One idle HA-loop cycle of every node, in the loop's order; the messages each node's steps sent are added to <paramref name="counts"/>.</summary>
    private async Task CycleAsync(EtcdDcs[] nodes, FakeTimeProvider time, CancellationToken ct, Dictionary<string, SortedDictionary<string, long>>? counts)
    {
        foreach (var node in nodes)
        {
            var before = counts is null ? null : await _server.ReadMessagesReceivedAsync(ct);
            var cluster = await node.LoadClusterAsync(ct);
            var leads = cluster.Leader?.Holder == node.MemberName;
            if (leads) Assert.That(await node.TryRenewLeaderLockAsync(cluster.Leader!, Ttl, ct), Is.Not.Null, $"{node.MemberName} renews");
            await node.TouchMemberAsync(Self(node.MemberName, leads), Ttl, ct);
            if (counts is not null) Add(counts[node.MemberName], Diff(await _server.ReadMessagesReceivedAsync(ct), before!));
        }
        var beforeWaits = counts is null ? null : await _server.ReadMessagesReceivedAsync(ct);
        await WaitAllAsync([.. nodes.Skip(1)], time, ct);
        if (counts is not null) Add(counts["waits"], Diff(await _server.ReadMessagesReceivedAsync(ct), beforeWaits!));
    }

    /// <summary>The nodes wait for a change until loop_wait has passed on the fake clock; nothing changes, so each times out.</summary>
    private static async Task WaitAllAsync(EtcdDcs[] waiting, FakeTimeProvider time, CancellationToken ct)
    {
        var waits = waiting.Select(n => n.WaitForChangeAsync(LoopWait, ct)).ToArray();
        // Real time for whatever a wait sends to reach etcd before the fake clock ends it.
        await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, ct);
        time.Advance(LoopWait);
        Assert.That(await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, ct), Is.All.False, "an idle cluster wakes nobody");
    }

    private static Member Self(string name, bool leader) => new(name)
    {
        ConnUrl = $"postgres://127.0.0.1:5432/postgres",
        ApiUrl = $"http://127.0.0.1:8008/patroni",
        State = "running",
        Role = leader ? MemberRole.Primary : MemberRole.Replica,
        XlogLocation = 67420024,
        Timeline = 1,
    };

    private static Dictionary<string, long> Diff(IReadOnlyDictionary<string, long> after, IReadOnlyDictionary<string, long> before) =>
        after.Select(kv => (kv.Key, Value: kv.Value - before.GetValueOrDefault(kv.Key))).Where(kv => kv.Value != 0).ToDictionary(kv => kv.Key, kv => kv.Value);

    private static void Add(SortedDictionary<string, long> into, Dictionary<string, long> more)
    {
        foreach (var (method, count) in more) into[method] = into.GetValueOrDefault(method) + count;
    }

    private static long Sum(IEnumerable<KeyValuePair<string, long>> counts) => counts.Sum(kv => kv.Value);

    private static string Describe(IEnumerable<KeyValuePair<string, long>> counts) =>
        counts.Any() ? string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")) : "nothing";
}
