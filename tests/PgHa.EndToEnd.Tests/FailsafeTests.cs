using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Failsafe mode end to end (issue #7 item 6, patroni-compat.md §5.7): etcd and three <c>pgha run</c> agents with
/// <c>failsafe_mode: true</c> in <c>bootstrap.dcs</c> (ttl 10, loop_wait 2, retry_timeout 3). With etcd stopped
/// (SIGSTOP) for 2 × ttl and every agent up, the leader keeps accepting writes on its members' confirmations and no
/// failover happens; with one replica's agent stopped too, the leader cannot be confirmed and demotes before its lease
/// could expire. Writes are probed on every node every 80 ms throughout.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class FailsafeTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
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
        _cluster = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]),
            (_, yaml) => yaml.Replace($"    ttl: {PgHaCluster.TtlSeconds}\n", $"    ttl: {PgHaCluster.TtlSeconds}\n    failsafe_mode: true\n", StringComparison.Ordinal));
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap with failsafe_mode");
            await health.Leader.QueryAsync("""
                CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
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

    [TearDown]
    public void RestoreProcesses()
    {
        if (_cluster.Etcd.IsFrozen) _cluster.Etcd.Thaw();
        foreach (var node in _cluster.Nodes.Where(n => n.IsAgentRunning)) Os.Signal(node.AgentPid, Os.SIGCONT);
    }

    /// <summary>Waits until the leader has written the failsafe key naming every member (it does so after a renewal).</summary>
    private async Task<JsonObject> WaitForFailsafeKeyAsync()
    {
        var started = Now;
        string? seen = null;
        while (Seconds(started, Now) < 30)
        {
            var kv = (await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix + "failsafe")).SingleOrDefault();
            seen = kv?.Value;
            if (seen is not null && JsonNode.Parse(seen) is JsonObject map && _cluster.Nodes.All(n => map.ContainsKey(n.Name)))
                return map;
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
        Assert.Fail($"the leader did not write a failsafe key naming every member within 30 s (last seen: {seen ?? "no key"})" + _cluster.Diagnostics());
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Waits for the leader's lease keep-alive (its remaining TTL rises), so the lease's expiry is known.</summary>
    private async Task<long> WaitForLeaseRenewalAsync()
    {
        var lease = (await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix + "leader")).Single().Lease;
        var previous = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
        var started = Now;
        while (Seconds(started, Now) < 3 * PgHaCluster.LoopWaitSeconds)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            var remaining = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
            if (remaining > previous) return Now;
            previous = remaining;
        }
        Assert.Fail($"no renewal of the leader's lease seen in {3 * PgHaCluster.LoopWaitSeconds} s" + _cluster.Diagnostics());
        return 0;
    }

    private static string ReadFrom(string path, long offset)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Largest gap, in seconds, between consecutive accepted probes of <paramref name="node"/> in [from, to].</summary>
    private static double LargestGap(WriteProbes probes, string node, long from, long to)
    {
        var accepted = probes.Results.Where(r => r.Node == node && r.Accepted && r.Started >= from && r.Started <= to).Select(r => r.Started).Order().ToList();
        if (accepted.Count == 0) return Seconds(from, to);
        var gaps = accepted.Zip(accepted.Skip(1), (a, b) => Seconds(a, b)).Append(Seconds(from, accepted[0])).Append(Seconds(accepted[^1], to));
        return gaps.Max();
    }

    [Test, Order(1)]
    public async Task EtcdStoppedForTwoTtlsWithEveryAgentUpCostsNoWriteGapAndNoFailover()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the outage");
        var leader = before.Leader;
        var failsafeKey = await WaitForFailsafeKeyAsync();
        Report($"failsafe key: {failsafeKey.ToJsonString()}");
        var logOffset = new FileInfo(leader.LogPath).Length;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 6_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because($"the writer gets writes through before the outage (last error: {writer.LastError})"));

        _cluster.Etcd.Freeze();
        var frozenAt = Now;
        Report($"SIGSTOP of etcd; leader {leader.Name}");
        // Half-way through, the leader reports failsafe mode as active.
        await Task.Delay(PgHaCluster.Ttl, TimeProvider.System);
        var during = await leader.StatusAsync(_cluster.Http);
        await Task.Delay(PgHaCluster.Ttl, TimeProvider.System);
        var thawedAt = Now;
        _cluster.Etcd.Thaw();
        Report($"SIGCONT of etcd after {Seconds(frozenAt, thawedAt):0.0} s");

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after etcd was thawed");
        await Task.Delay(2 * PgHaCluster.LoopWait, TimeProvider.System);
        var settledAt = Now;
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        var gap = LargestGap(probes, leader.Name, frozenAt, settledAt);
        var log = ReadFrom(leader.LogPath, logOffset);
        Report($"largest gap between {leader.Name}'s accepted probes from the freeze until {Seconds(thawedAt, settledAt):0.0} s after the thaw: {gap * 1000:0} ms; " +
               $"failsafe_mode_is_active during the outage: {during?["failsafe_mode_is_active"]?.ToJsonString() ?? "absent"}; after: {after.Description}");
        Assert.That(after.Leader.Name, Is.EqualTo(leader.Name), Because($"no failover: {leader.Name} stays the leader through the outage: {history}"));
        Assert.That(gap, Is.LessThan(2 * PgHaCluster.LoopWaitSeconds), Because($"{leader.Name} keeps accepting writes through the outage and after it: {history}"));
        Assert.That(history.On(leader.Name, origin, settledAt, except: true), Is.Empty, Because($"no other node accepts writes: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        Assert.That(log, Does.Contain("members confirmed me as the leader"), Because($"{leader.Name}'s agent ran on failsafe confirmations"));
        Assert.That(log, Does.Not.Contain("demoting self"), Because($"{leader.Name}'s agent never demoted"));
        Assert.That(during?["failsafe_mode_is_active"]?.GetValue<bool>(), Is.True, Because($"/patroni of {leader.Name} during the outage: {during?.ToJsonString()}"));
        var missing = await writer.MissingOnAsync(after.Leader);
        Report($"writer: {writer.Acks.Count} writes acknowledged ({writer.Failures} failed attempts); {missing.Count} missing on {after.Leader.Name}");
        Assert.That(missing.Select(a => a.Id), Is.Empty, Because("no acknowledged write is lost"));
    }

    [Test, Order(2)]
    public async Task EtcdStoppedWithAReplicaUnreachableDemotesTheLeaderBeforeItsLeaseCouldExpire()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the outage");
        var leader = before.Leader;
        var replica = before.Replicas.First();
        await WaitForFailsafeKeyAsync();
        var logOffset = new FileInfo(leader.LogPath).Length;
        var fencerPath = Path.Combine(leader.StateDir, "fencer.log");
        var fencerOffset = File.Exists(fencerPath) ? new FileInfo(fencerPath).Length : 0;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 7_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because($"the writer gets writes through before the outage (last error: {writer.LastError})"));

        // Right after a lease renewal, so the lease's expiry is known: ttl after it at the earliest.
        var renewedAt = await WaitForLeaseRenewalAsync();
        _cluster.Etcd.Freeze();
        Os.Signal(replica.AgentPid, Os.SIGSTOP);
        var frozenAt = Now;
        var expiryBound = PgHaCluster.TtlSeconds - Seconds(renewedAt, frozenAt);
        Report($"SIGSTOP of etcd and of {replica.Name}'s agent {Seconds(renewedAt, frozenAt) * 1000:0} ms after {leader.Name}'s lease renewal");
        await Task.Delay(PgHaCluster.Ttl + TimeSpan.FromSeconds(4), TimeProvider.System);
        var thawedAt = Now;
        _cluster.Etcd.Thaw();
        Os.Signal(replica.AgentPid, Os.SIGCONT);

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after etcd and the replica's agent continued");
        await writer.StopAsync();
        await probes.StopAsync();
        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        var lastOnLeader = history.On(leader.Name, frozenAt, thawedAt).DefaultIfEmpty(frozenAt).Max();
        var stoppedAfter = Seconds(frozenAt, lastOnLeader);
        var log = ReadFrom(leader.LogPath, logOffset);
        Report($"{leader.Name} accepted its last write {stoppedAfter:0.000} s after the freeze (its lease could not expire before {expiryBound:0.000} s); after: {after.Description}");
        Assert.That(log, Does.Contain("not every member confirmed me as the leader"), Because($"{leader.Name} ran a confirmation round that {replica.Name} could not answer"));
        var fencerLog = ReadFrom(Path.Combine(leader.StateDir, "fencer.log"), fencerOffset);
        // The agent demotes through the round's refused branch (the round ran after a failed renewal) or the
        // DcsUnavailable rule (after a failed read), or the fence stops PostgreSQL first.
        var demoted = log.Contains("demoting self because DCS is not accessible", StringComparison.Ordinal)
                      || System.Text.RegularExpressions.Regex.IsMatch(log, @"not every member confirmed me as the leader[^\n]*\n[^\n]*Demote started");
        Assert.That(demoted || fencerLog.Contains("fence deadline passed", StringComparison.Ordinal), Is.True,
            Because($"{leader.Name} was stopped as without failsafe mode: its agent demoted it, or its write fence fired"));
        Assert.That(stoppedAfter, Is.LessThan(expiryBound), Because($"{leader.Name} stops accepting writes before its lease could expire: {history}"));
        Assert.That(history.On(leader.Name, frozenAt, thawedAt, except: true), Is.Empty, Because($"no other node accepts writes while etcd is stopped: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
    }
}
