using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// The write fence on a real cluster (etcd + three <c>pgha run</c>, ttl 20, loop_wait 2, synchronous mode on from the
/// bootstrap): what happens to the leader's PostgreSQL when its agent dies, comes back quickly, or freezes together with
/// PostgreSQL. A probe writes to every node every 40 ms; the periods in which two nodes acknowledged writes must never
/// overlap: every write the old leader acknowledged was acknowledged before the first write the new leader was sent.
/// </summary>
/// <remarks>
/// Patroni 3.0.2 without a watchdog leaves the old primary writable when its agent alone is killed: the lock expires,
/// a replica is promoted, and two primaries accept writes until someone stops the old one. PgHa's fencer (one detached
/// <c>pgha-fencer.sh</c> per data directory) stops the postmaster at the lock's guaranteed validity minus
/// <c>fence_safety_margin</c>, and an agent that comes back before that re-adopts the primary without a failover.
/// </remarks>
[TestFixture, Category("EndToEnd")]
public sealed class FencingTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(40);
    private const int TtlSeconds = 20;
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(TtlSeconds);
    private PgHaCluster _cluster = null!;

    private static long Now => TimeProvider.System.GetTimestamp();

    private static double Seconds(long from, long to) => WriteHistory.Since(from, to);

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(string message) => () => message + _cluster.Diagnostics();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        // Synchronous mode from the bootstrap (bootstrap.dcs.synchronous_mode), as the frozen-leader scenario needs it.
        // ttl 20 instead of the harness's 10: a restarted agent must be back within the lease, and a JIT start of pgha on a
        // loaded 2-core machine alone can take 10 s (the NativeAOT binary starts in well under a second).
        _cluster = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]),
            (_, yaml) => yaml
                .Replace($"    ttl: {PgHaCluster.TtlSeconds}\n", $"    ttl: {TtlSeconds}\n", StringComparison.Ordinal)
                .Replace($"    maximum_lag_on_failover: {PgHaCluster.MaximumLagOnFailover}\n",
                    $"    maximum_lag_on_failover: {PgHaCluster.MaximumLagOnFailover}\n    synchronous_mode: true\n", StringComparison.Ordinal));
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap from empty data directories");
            await health.Leader.QueryAsync("CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())");
            var config = await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix + "config");
            Assert.That(config.Single().Value, Does.Contain("\"synchronous_mode\":true").And.Contain($"\"ttl\":{TtlSeconds}"), "bootstrap.dcs reached the config key");
        }
        catch
        {
            await _cluster.DisposeAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    /// <summary>A scenario that failed half-way may leave processes stopped or an agent dead; give the next one a chance.</summary>
    [TearDown]
    public void RestoreProcesses()
    {
        foreach (var p in Os.Processes().Where(p => p.CommandLine.Contains(_cluster.Root, StringComparison.Ordinal) && Os.State(p.Pid) == 'T'))
            Os.Signal(p.Pid, Os.SIGCONT);
        foreach (var node in _cluster.Nodes.Where(n => !n.IsAgentRunning)) node.StartAgent();
    }

    [Test, Order(1)]
    public async Task AQuickAgentRestartReadoptsTheRunningPrimaryWithoutAFailover()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        var postmaster = leader.PostmasterPid();
        var startTime = await leader.ScalarAsync<DateTime>("SELECT pg_postmaster_start_time()");
        var origin = Now;
        await using var probes = new WriteProbes(_cluster.Nodes, ProbeInterval);
        probes.Start();
        Assert.That(await probes.WaitForAsync(r => r.Accepted && r.Node == leader.Name, TimeSpan.FromSeconds(10)), Is.Not.Null,
            Because($"{leader.Name} accepts writes before the fault"));

        // Kill right after a renewal (seen as a rise of the lease's remaining TTL): the restarted agent then has the whole
        // lease, minus the fence margin, to start, read the cluster and confirm the lock again. On a loaded machine a JIT
        // start of pgha alone takes several seconds.
        var lease = (await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix + "leader")).Single().Lease;
        var renewedAt = await WaitForLeaseRenewalAsync(lease, TimeSpan.FromSeconds(3 * PgHaCluster.LoopWaitSeconds));
        var agentPid = leader.KillAgent();
        var killedAt = Now;
        await Task.Delay(TimeSpan.FromSeconds(0.5), TimeProvider.System);
        leader.StartAgent();
        var restartedAt = Now;
        Report($"kill -9 of {leader.Name}'s agent (pid {agentPid}) {(renewedAt is { } r ? $"{Seconds(r, killedAt) * 1000:0} ms after a lease renewal was seen" : "(no renewal seen)")}, " +
               $"restarted {Seconds(killedAt, restartedAt):0.0} s later (ttl {TtlSeconds} s, fence at ttl - 1 s)");

        // The new agent must confirm the lock and move the fence before the old deadline passes; give it a full ttl after that.
        await Task.Delay(Ttl + PgHaCluster.LoopWait, TimeProvider.System);
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after the quick agent restart");
        var lastProbe = Now;
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await probes.StopAsync();

        var results = probes.Results;
        var refused = results.Where(r => r.Node == leader.Name && !r.Accepted && r.Started > killedAt && r.Started < lastProbe).ToList();
        Report($"{leader.Name}: {results.Count(r => r.Node == leader.Name && r.Accepted && r.Started > killedAt)} probes accepted and {refused.Count} refused after the kill" +
               (refused.Count > 0 ? $"; first refusal: {refused[0].Error}" : ""));
        Assert.That(after.Leader, Is.EqualTo(leader), Because($"{leader.Name} is still the leader: {after.Description}"));
        Assert.That(after.Timeline, Is.EqualTo(before.Timeline), Because($"no promotion happened: {after.Description}"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(leader.Name), Because("the DCS still names the same leader"));
        Assert.That(leader.PostmasterPid(), Is.EqualTo(postmaster), Because($"{leader.Name}'s postmaster was not restarted (pid {postmaster})"));
        Assert.That(await leader.ScalarAsync<DateTime>("SELECT pg_postmaster_start_time()"), Is.EqualTo(startTime),
            Because("pg_postmaster_start_time() is unchanged"));
        Assert.That(results.Where(r => r.Accepted && r.Node != leader.Name), Is.Empty, Because("no other node ever accepted a write"));
        Assert.That(refused, Is.Empty, Because($"{leader.Name} kept accepting writes through the agent restart (the fence did not fire)"));
        Report($"re-adopted: {after.Description}; {Seconds(origin, Now):0.0} s in all");
    }

    [Test, Order(2)]
    public async Task KillingTheLeadersAgentAloneFencesItsPrimaryBeforeAnotherNodeIsPromoted()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var origin = Now;
        await using var probes = new WriteProbes(_cluster.Nodes, ProbeInterval);
        probes.Start();
        Assert.That(await probes.WaitForAsync(r => r.Accepted && r.Node == old.Name, TimeSpan.FromSeconds(10)), Is.Not.Null,
            Because($"{old.Name} accepts writes before the fault"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);

        var agentPid = old.KillAgent();
        var killedAt = Now;
        Report($"kill -9 of {old.Name}'s agent alone (pid {agentPid}) at t={Seconds(origin, killedAt):0.000} s; its postmaster keeps running");
        var first = await probes.WaitForAsync(r => r.Accepted && r.Node != old.Name && r.Started > killedAt, TimeSpan.FromSeconds(60));
        Assert.That(first, Is.Not.Null, Because($"another node is promoted within 60 s of killing {old.Name}'s agent"));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
        await probes.StopAsync();

        var history = WriteProbeHistory(probes, origin);
        Report(history.ToString());
        var lastOld = probes.Results.Where(r => r.Node == old.Name && r.Accepted).Max(r => r.Finished);
        var firstNew = probes.Results.Where(r => r.Accepted && r.Node != old.Name).Min(r => r.Started);
        Report($"{old.Name} acknowledged its last write {Seconds(killedAt, lastOld):0.000} s after the kill; {first!.Node} was sent its first accepted write " +
               $"{Seconds(killedAt, firstNew):0.000} s after it: a gap of {Seconds(lastOld, firstNew) * 1000:0} ms with no writable node");
        Assert.That(lastOld, Is.LessThan(firstNew),
            Because($"no overlap: {old.Name} acknowledged a write {Seconds(firstNew, lastOld) * 1000:0} ms after {first.Node}'s first accepted write was sent: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        Assert.That(old.PostmasterPid(), Is.Null, Because($"the fence stopped {old.Name}'s postmaster"));

        old.StartAgent();
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after restarting {old.Name}'s agent");
        Assert.That(after.Leader.Name, Is.EqualTo(first.Node), Because($"{first.Node} stays the leader: {after.Description}"));
        Report($"healed: {after.Description}");
    }

    [Test, Order(3)]
    public async Task AFrozenLeaderAcknowledgesNoWriteAfterAnotherNodeWasPromotedInSynchronousMode()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var origin = Now;
        await using var probes = new WriteProbes(_cluster.Nodes, ProbeInterval);
        probes.Start();
        Assert.That(await probes.WaitForAsync(r => r.Accepted && r.Node == old.Name, TimeSpan.FromSeconds(10)), Is.Not.Null,
            Because($"{old.Name} accepts writes before the fault"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);

        // The agent and every PostgreSQL process (the postmaster and its children); the fencer is a process of its own.
        var postmaster = old.PostmasterPid();
        Assert.That(postmaster, Is.Not.Null, Because($"{old.Name}'s postmaster runs"));
        var frozen = new[] { old.AgentPid }.Concat(Descendants(postmaster!.Value).Prepend(postmaster.Value)).ToList();
        foreach (var pid in frozen) Os.Signal(pid, Os.SIGSTOP);
        var frozenAt = Now;
        Report($"SIGSTOP of {old.Name}'s agent and {frozen.Count - 1} PostgreSQL processes at t={Seconds(origin, frozenAt):0.000} s");

        var first = await probes.WaitForAsync(r => r.Accepted && r.Node != old.Name && r.Started > frozenAt, TimeSpan.FromSeconds(60));
        Assert.That(first, Is.Not.Null, Because($"another node is promoted within 60 s of freezing {old.Name}"));
        // Frozen for longer than ttl in any case, and past the promotion.
        var minimum = Ttl + TimeSpan.FromSeconds(2) - TimeProvider.System.GetElapsedTime(frozenAt);
        if (minimum > TimeSpan.Zero) await Task.Delay(minimum, TimeProvider.System);
        foreach (var pid in frozen) Os.Signal(pid, Os.SIGCONT);
        var thawedAt = Now;
        Report($"SIGCONT {Seconds(frozenAt, thawedAt):0.0} s after the freeze; {first!.Node} accepted writes {Seconds(frozenAt, first.Finished):0.000} s after it");
        await Task.Delay(TimeSpan.FromSeconds(4), TimeProvider.System);
        await probes.StopAsync();

        var history = WriteProbeHistory(probes, origin);
        Report(history.ToString());
        var firstNew = probes.Results.Where(r => r.Accepted && r.Node != old.Name).Min(r => r.Started);
        var late = probes.Results.Where(r => r.Node == old.Name && r.Accepted && r.Finished >= firstNew).ToList();
        Assert.That(late.Select(r => $"sent {Seconds(frozenAt, r.Started):0.000} s, acknowledged {Seconds(frozenAt, r.Finished):0.000} s after the freeze"), Is.Empty,
            Because($"{old.Name} acknowledges no write once another node was promoted: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));

        var fencerLog = Path.Combine(old.StateDir, "fencer.log");
        var fenced = File.Exists(fencerLog) && File.ReadLines(fencerLog).Any(l => l.Contains("fence deadline passed", StringComparison.Ordinal));
        Report($"{old.Name}'s fencer (not frozen) {(fenced ? "stopped the frozen postmaster at its deadline" : "did not fire")}");

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after thawing {old.Name}");
        Assert.That(after.Leader, Is.Not.EqualTo(old), Because($"the thawed {old.Name} does not take the lead back: {after.Description}"));
        Report($"healed: {after.Description}");
    }

    /// <summary>Polls a lease's remaining TTL every 50 ms until it rises (its holder renewed it); when that was seen, or null.</summary>
    private async Task<long?> WaitForLeaseRenewalAsync(long lease, TimeSpan timeout)
    {
        var started = Now;
        var previous = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
        while (Seconds(started, Now) < timeout.TotalSeconds)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            var remaining = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
            if (remaining > previous) return Now;
            previous = remaining;
        }
        return null;
    }

    private static WriteHistory WriteProbeHistory(WriteProbes probes, long origin) => WriteHistory.Of(probes, origin);

    /// <summary>Every process below <paramref name="pid"/> in the process tree.</summary>
    private static List<int> Descendants(int pid)
    {
        var all = Os.Processes();
        var found = new List<int>();
        var frontier = new Queue<int>([pid]);
        while (frontier.Count > 0)
        {
            var parent = frontier.Dequeue();
            foreach (var child in all.Where(p => p.ParentPid == parent))
            {
                found.Add(child.Pid);
                frontier.Enqueue(child.Pid);
            }
        }
        return found;
    }
}
