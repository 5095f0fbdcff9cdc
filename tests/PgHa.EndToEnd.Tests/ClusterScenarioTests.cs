using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// The real thing: etcd and three <c>pgha run</c> processes with Patroni-format YAML (ttl 10, loop_wait 2,
/// retry_timeout 3) bootstrap a PostgreSQL 15 cluster from empty data directories; then faults are injected while an
/// application writes through a multi-host connection string, and what it was told was committed is checked afterwards.
/// One cluster serves the whole fixture; every scenario starts from, and leaves, one leader and two streaming replicas.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class ClusterScenarioTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;
    private double _bootstrapSeconds;

    private static double Seconds(long from, long to) => WriteHistory.Since(from, to);

    private static long Now => TimeProvider.System.GetTimestamp();

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    /// <summary>A failure message with the last 100 lines of every agent's log (and etcd's, fencers', PostgreSQL's).</summary>
    private Func<string> Because(string message) => () => message + _cluster.Diagnostics();

    private Func<string> Because(Func<string> message) => () => message() + _cluster.Diagnostics();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        var started = Now;
        _cluster = await PgHaCluster.StartAsync();
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap from empty data directories");
            _bootstrapSeconds = Seconds(started, Now);
            await health.Leader.QueryAsync("""
                CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
            TestContext.Progress.WriteLine($"cluster in {_cluster.Root} (pgha: {E2eEnvironment.PgHaBinary ?? E2eEnvironment.PgHaAssembly}) bootstrapped in {_bootstrapSeconds:0.0} s: {health.Description}");
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

    /// <summary>A scenario that failed half-way may leave an agent stopped or etcd frozen; give the next one a chance.</summary>
    [TearDown]
    public void RestoreProcesses()
    {
        if (_cluster.Etcd.IsFrozen) _cluster.Etcd.Thaw();
        foreach (var node in _cluster.Nodes.Where(n => !n.IsAgentRunning)) node.StartAgent();
    }

    [Test, Order(1)]
    public async Task BootstrapFromEmptyDataDirectoriesMakesOneLeaderAndTwoStreamingReplicasUnderPatronisKeys()
    {
        var health = await _cluster.WaitForHealthyAsync(HealTimeout, "after bootstrap");
        var leader = health.Leader;
        Report($"bootstrap from empty data directories to one leader + two streaming replicas: {_bootstrapSeconds:0.0} s; leader {leader.Name}, timeline {health.Timeline}");

        // Replication as PostgreSQL sees it: both replicas streaming under their member names, each through its own active slot.
        var rows = await leader.QueryAsync("""
            SELECT r.application_name, r.state, s.slot_name, s.active
            FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
            ORDER BY r.application_name
            """);
        var slots = await leader.QueryAsync("SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY slot_name");
        var replicaNames = health.Replicas.Select(r => r.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.That(rows.Select(r => ((string)r[0]!, (string)r[1]!)), Is.EqualTo(replicaNames.Select(n => (n, "streaming"))),
            Because("pg_stat_replication on the leader lists both replicas, streaming, with application_name = member name"));
        Assert.That(rows.Select(r => ((string?)r[2], (bool?)r[3])), Is.EqualTo(replicaNames.Select(n => ((string?)n, (bool?)true))),
            Because(() => "each replica streams through the active physical slot named after it (Patroni's naming: node2 → node2); slots: " + string.Join(", ", slots.Select(s => $"{s[0]}/{s[1]}/active={s[2]}"))));
        Assert.That(slots.Select(s => ((string)s[0]!, (string)s[1]!)), Is.EqualTo(replicaNames.Select(n => (n, "physical"))),
            Because("the leader keeps exactly one physical slot per other member"));

        // The DCS, as etcdctl would show it: Patroni's etcd3 layout.
        var keys = (await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix)).ToDictionary(kv => kv.Key);
        var prefix = _cluster.KeyPrefix;
        var systemId = (await leader.ScalarAsync<long>("SELECT system_identifier FROM pg_control_system()")).ToString(CultureInfo.InvariantCulture);
        Report($"DCS keys: {string.Join(", ", keys.Keys.Order(StringComparer.Ordinal))}; system id {systemId}");
        Assert.That(keys.Keys, Is.SupersetOf(new[] { prefix + "leader", prefix + "initialize", prefix + "config", prefix + "members/node1", prefix + "members/node2", prefix + "members/node3" }),
            Because("Patroni's keys under /service/<scope>/"));
        Assert.That(keys[prefix + "leader"].Value, Is.EqualTo(leader.Name), Because("/service/<scope>/leader holds the leader's bare name"));
        Assert.That(keys[prefix + "leader"].Lease, Is.Not.Zero, Because("the leader key is bound to a lease"));
        Assert.That(keys[prefix + "initialize"].Value, Is.EqualTo(systemId), Because("/service/<scope>/initialize holds the system identifier"));
        Assert.That(keys[prefix + "initialize"].Lease, Is.Zero, Because("initialize is not bound to a lease"));
        foreach (var node in _cluster.Nodes)
        {
            var member = JsonNode.Parse(keys[prefix + "members/" + node.Name].Value)!.AsObject();
            var text = member.ToJsonString();
            Assert.That(PgHaCluster.Str(member, "role"), Is.EqualTo(node == leader ? "master" : "replica"), Because($"member key of {node.Name}: {text}"));
            Assert.That(PgHaCluster.Str(member, "state"), Is.EqualTo("running"), Because($"member key of {node.Name}: {text}"));
            Assert.That(PgHaCluster.Str(member, "conn_url"), Is.EqualTo($"postgres://127.0.0.1:{node.PgPort}/postgres"), Because($"member key of {node.Name}: {text}"));
            Assert.That(PgHaCluster.Str(member, "api_url"), Is.EqualTo($"http://127.0.0.1:{node.RestPort}/patroni"), Because($"member key of {node.Name}: {text}"));
            Assert.That(keys[prefix + "members/" + node.Name].Lease, Is.Not.Zero, Because($"members/{node.Name} is bound to the node's lease"));
            var nodeSystemId = (await node.ScalarAsync<long>("SELECT system_identifier FROM pg_control_system()")).ToString(CultureInfo.InvariantCulture);
            Assert.That(nodeSystemId, Is.EqualTo(systemId), Because($"{node.Name} belongs to the bootstrapped cluster"));
        }
        var config = JsonNode.Parse(keys[prefix + "config"].Value)!.AsObject();
        Assert.That((PgHaCluster.Long(config, "ttl"), PgHaCluster.Long(config, "loop_wait"), PgHaCluster.Long(config, "retry_timeout"), PgHaCluster.Long(config, "maximum_lag_on_failover")),
            Is.EqualTo(((long?)PgHaCluster.TtlSeconds, (long?)PgHaCluster.LoopWaitSeconds, (long?)PgHaCluster.RetryTimeoutSeconds, (long?)PgHaCluster.MaximumLagOnFailover)),
            Because($"/config is bootstrap.dcs as Patroni JSON: {config.ToJsonString()}"));
    }

    [Test, Order(2)]
    public async Task KillingTheLeadersAgentAndPostmasterFailsOverAndTheOldLeaderRejoinsThroughPgRewind()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 2_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because(() => $"the writer gets writes through before the fault (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);

        var postmaster = old.PostmasterPid();
        Assert.That(postmaster, Is.Not.Null, Because($"{old.Name}'s postmaster runs"));
        var agentPid = old.KillAgent();
        Os.Signal(postmaster!.Value, Os.SIGKILL);
        var killedAt = Now;
        Report($"kill -9 of {old.Name}'s agent (pid {agentPid}) and postmaster (pid {postmaster}) at t={Seconds(origin, killedAt):0.000} s");

        var first = await probes.WaitForAsync(r => r.Accepted && r.Node != old.Name && r.Started > killedAt, TimeSpan.FromSeconds(60));
        Assert.That(first, Is.Not.Null, Because($"another node accepts writes within 60 s of killing the leader {old.Name}"));
        var failoverSeconds = Seconds(killedAt, first!.Finished);
        var bound = PgHaCluster.Ttl + PgHaCluster.LoopWait + TimeSpan.FromSeconds(5);
        var newLeader = _cluster.Node(first.Node);
        Report($"failover: {newLeader.Name} accepted writes {failoverSeconds:0.00} s after the kill (bound asserted: ttl + loop_wait + 5 s = {bound.TotalSeconds:0} s)");
        Assert.That(await writer.WaitForAckAfterAsync(first.Finished, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer finds the new primary {newLeader.Name} (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        // A backend orphaned by the postmaster's SIGKILL may still commit the write it was given as the kill landed; none later.
        Assert.That(history.SentAfter(old.Name, killedAt + TimeProvider.System.TimestampFrequency), Is.Empty,
            Because($"the killed {old.Name} accepts no write sent more than a second after the kill: {history}"));
        Assert.That(TimeSpan.FromSeconds(failoverSeconds), Is.LessThanOrEqualTo(bound),
            Because($"a replica accepts writes within ttl + loop_wait (+ slack) of the leader's death; took {failoverSeconds:0.00} s"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(newLeader.Name), Because($"the DCS names the node that accepts writes ({newLeader.Name})"));

        // What the application was told was committed and is gone: only what maximum_lag_on_failover lets go.
        var acks = writer.Acks;
        var missing = await writer.MissingOnAsync(newLeader);
        var fork = await ForkLsnAsync(newLeader);
        var lostBytes = missing.Count == 0 ? 0UL : missing.Max(a => a.Lsn) > fork ? missing.Max(a => a.Lsn) - fork : 0UL;
        var beforeFork = missing.Where(a => a.Lsn + 65536 < fork).ToList();
        var oldAcksBeyondFork = acks.Where(a => a.Port == old.PgPort && a.Lsn > fork).ToList();
        Report($"writer: {acks.Count} writes acknowledged ({writer.Failures} failed attempts); {missing.Count} acknowledged writes missing on {newLeader.Name} " +
               $"(lost WAL ≤ {lostBytes} bytes after the fork at {Writer.FormatLsn(fork)}; maximum_lag_on_failover = {PgHaCluster.MaximumLagOnFailover})");
        Assert.That(beforeFork, Is.Empty, Because(() => $"acknowledged writes well before the fork point {Writer.FormatLsn(fork)} were replicated and must survive; missing: {string.Join(", ", beforeFork.Take(20).Select(a => $"{a.Id}@{Writer.FormatLsn(a.Lsn)}"))}"));
        Assert.That(lostBytes, Is.LessThanOrEqualTo((ulong)PgHaCluster.MaximumLagOnFailover),
            Because($"the lost acknowledged writes span {lostBytes} bytes of WAL beyond the fork, more than maximum_lag_on_failover"));

        // The old leader comes back as a replica of the new timeline.
        var newTimeline = PgHaCluster.Long((await newLeader.StatusAsync(_cluster.Http))!, "timeline");
        var restartedAt = Now;
        old.StartAgent();
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after restarting {old.Name}'s agent");
        var rejoinSeconds = Seconds(restartedAt, Now);
        Assert.That(after.Leader, Is.EqualTo(newLeader), Because($"{newLeader.Name} stays the leader while {old.Name} rejoins: {after.Description}"));
        Assert.That(after.Timeline, Is.GreaterThan(before.Timeline).And.EqualTo(newTimeline), Because($"the rejoined cluster runs on the new timeline: {after.Description}"));
        var log = LogSinceLastStart(old);
        var rewound = log.Contains("running pg_rewind", StringComparison.Ordinal);
        Report($"{old.Name} rejoined as a streaming replica on timeline {after.Timeline} {rejoinSeconds:0.0} s after its agent restarted; pg_rewind {(rewound ? "ran" : "did not run")}; " +
               $"{oldAcksBeyondFork.Count} of its acknowledged writes lay beyond the fork");
        if (oldAcksBeyondFork.Count > 0)
            Assert.That(rewound, Is.True, Because($"{old.Name} wrote WAL beyond the fork point ({oldAcksBeyondFork.Count} acknowledged writes), so it had to be rewound; its log since the restart:\n{log}"));
        await AssertSameRowsAsync(newLeader, old);
    }

    [Test, Order(3)]
    public async Task KillingTheLeadersPostmasterRestartsItInPlaceWithoutLosingAcknowledgedWrites()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 3_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because(() => $"the writer gets writes through before the fault (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);

        var postmaster = leader.PostmasterPid();
        Assert.That(postmaster, Is.Not.Null, Because($"{leader.Name}'s postmaster runs"));
        Os.Signal(postmaster!.Value, Os.SIGKILL);
        var killedAt = Now;
        Report($"kill -9 of {leader.Name}'s postmaster (pid {postmaster}) at t={Seconds(origin, killedAt):0.000} s");

        var back = await probes.WaitForAsync(r => r.Accepted && r.Started > killedAt, TimeSpan.FromSeconds(60));
        Assert.That(back, Is.Not.Null, Because($"some node accepts writes again within 60 s of killing {leader.Name}'s postmaster"));
        var restartSeconds = Seconds(killedAt, back!.Finished);
        Report($"{back.Node} accepted writes again {restartSeconds:0.00} s after the kill");
        Assert.That(await writer.WaitForAckAfterAsync(back.Finished, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer gets writes through again (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        Assert.That(back.Node, Is.EqualTo(leader.Name), Because($"the leader's PostgreSQL is restarted in place, no failover: {history}"));
        Assert.That(history.Blocks.Select(b => b.Node).Distinct(), Is.EqualTo(new[] { leader.Name }), Because($"only {leader.Name} ever accepted writes: {history}"));
        var newPostmaster = leader.PostmasterPid();
        Assert.That(newPostmaster, Is.Not.Null.And.Not.EqualTo(postmaster), Because($"{leader.Name} runs a new postmaster"));
        Assert.That(TimeSpan.FromSeconds(restartSeconds), Is.LessThanOrEqualTo(PgHaCluster.Ttl + PgHaCluster.LoopWait),
            Because($"a crashed primary is restarted in place well within ttl + loop_wait; took {restartSeconds:0.00} s"));

        var missing = await writer.MissingOnAsync(leader);
        Report($"writer: {writer.Acks.Count} writes acknowledged ({writer.Failures} failed attempts); {missing.Count} acknowledged writes missing");
        Assert.That(missing.Select(a => a.Id), Is.Empty, Because("crash recovery keeps every acknowledged commit"));

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after the postmaster restart");
        Assert.That(after.Leader, Is.EqualTo(leader), Because($"{leader.Name} is still the leader: {after.Description}"));
        Assert.That(after.Timeline, Is.EqualTo(before.Timeline), Because($"a restart in place keeps the timeline: {after.Description}"));
        Report($"healed: {after.Description}");
    }

    [Test, Order(4)]
    public async Task FreezingEtcdFencesTheLeaderBeforeItsLeaseCouldExpireWithoutSplitBrainAndTheClusterHeals()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        var origin = Now;
        var agentLogOffset = new FileInfo(leader.LogPath).Length;
        var fencerLog = Path.Combine(leader.StateDir, "fencer.log");
        var fencerLogOffset = File.Exists(fencerLog) ? new FileInfo(fencerLog).Length : 0;
        await using var writer = new Writer(_cluster, firstId: 4_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because(() => $"the writer gets writes through before the fault (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);

        // Freeze etcd right after the leader renewed its lease (seen as a rise of the lease's remaining TTL, polled every
        // 50 ms): the lease then expires ttl after that renewal at the earliest, and no renewal can follow.
        var leaderKey = (await _cluster.Etcd.RangeAsync(_cluster.KeyPrefix + "leader")).Single();
        var (renewedAt, remaining) = await WaitForLeaseRenewalAsync(leaderKey.Lease, TimeSpan.FromSeconds(3 * PgHaCluster.LoopWaitSeconds));
        var queriedAt = Now;
        _cluster.Etcd.Freeze();
        var frozenAt = Now;
        Report($"SIGSTOP of etcd at t={Seconds(origin, frozenAt):0.000} s, " + (renewedAt is { } r
            ? $"{Seconds(r, frozenAt) * 1000:0} ms after the leader {leader.Name}'s lease renewal was seen"
            : $"no renewal of {leader.Name}'s lease seen in {3 * PgHaCluster.LoopWaitSeconds} s; it had {remaining} s left (etcd's truncated TTL)"));
        await Task.Delay(PgHaCluster.Ttl + TimeSpan.FromSeconds(4), TimeProvider.System);
        var thawedAt = Now;
        _cluster.Etcd.Thaw();
        Report($"SIGCONT of etcd at t={Seconds(origin, thawedAt):0.000} s");

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after etcd was thawed");
        var healSeconds = Seconds(thawedAt, Now);
        Assert.That(await writer.WaitForAckAfterAsync(Now, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer gets writes through after the cluster healed (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        var lastOnLeader = history.On(leader.Name, frozenAt, thawedAt).DefaultIfEmpty(frozenAt).Max();
        var firstRefused = probes.Results.FirstOrDefault(r => r.Node == leader.Name && !r.Accepted && r.Started > frozenAt);
        var probeGaps = probes.Results.Where(r => r.Started >= frozenAt && r.Started <= thawedAt).GroupBy(r => r.Node)
            .ToDictionary(g => g.Key, g => g.OrderBy(r => r.Started).Zip(g.OrderBy(r => r.Started).Skip(1), (a, b) => Seconds(a.Started, b.Started)).DefaultIfEmpty(0).Max());
        // The earliest the lease could expire, in seconds after the freeze: ttl after the renewal seen just before it
        // (else ttl after the freeze, or etcd's own count when that is sooner).
        var expiryBound = renewedAt is { } renewal
            ? PgHaCluster.TtlSeconds - Seconds(renewal, frozenAt)
            : Math.Min(PgHaCluster.TtlSeconds, Seconds(frozenAt, queriedAt) + remaining + 1);
        var stoppedAfter = Seconds(frozenAt, lastOnLeader);
        Report($"{leader.Name} accepted its last write {stoppedAfter:0.000} s after the freeze; first refused probe {(firstRefused is null ? "never" : $"{Seconds(frozenAt, firstRefused.Started):0.000} s")} after it " +
               $"(the lease could not expire before {expiryBound:0.000} s; ttl = {PgHaCluster.TtlSeconds} s); largest probe gap during the outage: " +
               string.Join(", ", probeGaps.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value * 1000:0} ms")));
        var demoted = ReadFrom(leader.LogPath, agentLogOffset).Contains("demoting self because DCS is not accessible", StringComparison.Ordinal);
        var fenced = ReadFrom(fencerLog, fencerLogOffset).Contains("fence deadline passed", StringComparison.Ordinal);
        Report($"what stopped {leader.Name}: {(demoted ? "its agent demoted it (DCS not accessible)" : "no demotion by the agent")}; {(fenced ? "the write fence fired" : "the write fence did not have to fire")}");
        Assert.That(history.On(leader.Name, frozenAt, thawedAt, except: true), Is.Empty, Because($"no other node accepts writes while the DCS is unreachable: {history}"));
        Assert.That(stoppedAfter, Is.LessThan(expiryBound),
            Because($"{leader.Name} must stop accepting writes before its lease could expire ({expiryBound:0.000} s after the freeze), but accepted one {stoppedAfter:0.000} s after it: {history}"));
        Assert.That(firstRefused, Is.Not.Null, Because($"{leader.Name} refuses writes during the outage: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));

        var missing = await writer.MissingOnAsync(after.Leader);
        Report($"healed {healSeconds:0.0} s after SIGCONT: {after.Description}");
        Report($"writer: {writer.Acks.Count} writes acknowledged ({writer.Failures} failed attempts); {missing.Count} acknowledged writes missing on {after.Leader.Name}");
        Assert.That(missing.Select(a => a.Id), Is.Empty, Because($"a DCS outage loses no acknowledged write (leader before: {leader.Name}, after: {after.Leader.Name})"));
        await AssertSameRowsAsync(after.Leader, after.Replicas.ToArray());
    }

    [Test, Order(5)]
    public async Task DebiansPatronictlListsThePgHaClusterWithLeaderReplicasTimelineAndNoLag()
    {
        var health = await _cluster.WaitForHealthyAsync(HealTimeout, "before patronictl");
        if (!File.Exists(E2eEnvironment.PatroniCtl))
            E2eEnvironment.Missing($"patronictl ({E2eEnvironment.PatroniCtl}) is not installed: run scripts/test as root (it installs Debian's patroni and python3-etcd), or apt-get install -y patroni python3-etcd.");

        var config = Path.Combine(_cluster.Root, "patronictl.yml");
        await File.WriteAllTextAsync(config, $"""
            scope: {PgHaCluster.Scope}
            namespace: /service/
            etcd3:
              hosts: {_cluster.Etcd.Endpoint}
            """);
        var environment = new Dictionary<string, string> { ["HOME"] = _cluster.Root };
        // Members publish their WAL position every loop_wait: wait until patronictl's view settles (lag 0), up to 30 s.
        var started = Now;
        (int ExitCode, string Stdout, string Stderr) run;
        List<string[]> table;
        while (true)
        {
            run = await ProcessLauncher.RunAsync(E2eEnvironment.PatroniCtl, ["-c", config, "list"], TimeSpan.FromSeconds(30), environment);
            table = ParseTable(run.Stdout);
            if (run.ExitCode == 0 && table.Count == 3 && table.Where(r => r[2] == "Replica").All(r => r[5] == "0")) break;
            if (Seconds(started, Now) > 30) break;
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        }
        Report($"patronictl -c {config} list:\n{run.Stdout}");
        Assert.That(run.ExitCode, Is.Zero, Because($"patronictl list exits 0; stderr:\n{run.Stderr}"));
        var output = run.Stdout;
        Assert.That(output.Split('\n')[0], Does.StartWith($"+ Cluster: {PgHaCluster.Scope} "), Because($"the title names the cluster:\n{output}"));
        var expected = _cluster.Nodes.Select(n => new[]
        {
            n.Name, $"127.0.0.1:{n.PgPort}", n == health.Leader ? "Leader" : "Replica", "running",
            health.Timeline.ToString(CultureInfo.InvariantCulture), n == health.Leader ? "" : "0",
        }).ToList();
        Assert.That(table, Is.EqualTo(expected), Because($"patronictl shows the leader, two replicas, timeline {health.Timeline} and lag 0 (columns Member, Host, Role, State, TL, Lag in MB):\n{output}\nstderr:\n{run.Stderr}"));

        // pgha ctl list prints the same table from the same keys.
        var (program, prefix) = E2eEnvironment.PgHaCommand;
        var pgha = await ProcessLauncher.RunAsync(program, [.. prefix, "ctl", "-c", health.Leader.ConfigPath, "list"], TimeSpan.FromSeconds(60), environment);
        Report($"pgha ctl list:\n{pgha.Stdout}");
        Assert.That(pgha.ExitCode, Is.Zero, Because($"pgha ctl list exits 0; stderr:\n{pgha.Stderr}"));
        Assert.That(ParseTable(pgha.Stdout), Is.EqualTo(table), Because($"pgha ctl list agrees with patronictl:\n{pgha.Stdout}\npatronictl:\n{output}"));
    }

    /// <summary>The member rows of a patronictl table (cells trimmed), header and borders left out.</summary>
    private static List<string[]> ParseTable(string output) =>
    [
        .. output.Split('\n')
            .Where(line => line.StartsWith('|'))
            .Select(line => line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .Where(cells => cells[0] != "Member"),
    ];

    /// <summary>The switch point of the newest timeline, from the newest history file in <paramref name="primary"/>'s pg_wal.</summary>
    private static async Task<ulong> ForkLsnAsync(ClusterNode primary)
    {
        var content = await primary.ScalarAsync<string>(
            "SELECT pg_read_file('pg_wal/' || name) FROM pg_ls_waldir() WHERE name LIKE '%.history' ORDER BY name DESC LIMIT 1");
        var last = content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => !l.StartsWith('#'));
        return Writer.ParseLsn(last.Split('\t')[1]);
    }

    /// <summary>
    /// Polls a lease's remaining TTL every 50 ms until it rises (its holder renewed it); returns when that was seen (or
    /// null after <paramref name="timeout"/>) and the last remaining TTL.
    /// </summary>
    private async Task<(long? RenewedAt, long Remaining)> WaitForLeaseRenewalAsync(long lease, TimeSpan timeout)
    {
        var started = Now;
        var previous = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
        while (Seconds(started, Now) < timeout.TotalSeconds)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            var remaining = await _cluster.Etcd.LeaseRemainingSecondsAsync(lease);
            if (remaining > previous) return (Now, remaining);
            previous = remaining;
        }
        return (null, previous);
    }

    /// <summary>A file's text from <paramref name="offset"/> on ("" when it does not exist).</summary>
    private static string ReadFrom(string path, long offset)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The agent's log since the harness last started it.</summary>
    private static string LogSinceLastStart(ClusterNode node)
    {
        var text = File.ReadAllText(node.LogPath);
        var marker = text.LastIndexOf("==== test harness: starting", StringComparison.Ordinal);
        return marker < 0 ? text : text[marker..];
    }

    /// <summary>Once <paramref name="replicas"/> have replayed everything the primary wrote so far, they hold exactly its rows.</summary>
    private async Task AssertSameRowsAsync(ClusterNode primary, params ClusterNode[] replicas)
    {
        const string summary = "SELECT count(*)::text || ' rows, ids ' || coalesce(sum(id), 0)::text FROM e2e_writes";
        var lsn = await primary.ScalarAsync<string>("SELECT pg_current_wal_lsn()::text");
        var expected = await primary.ScalarAsync<string>(summary);
        foreach (var replica in replicas)
        {
            var started = Now;
            while (Seconds(started, Now) < 30)
            {
                var caughtUp = await replica.ScalarAsync<bool>($"SELECT coalesce(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false)");
                if (caughtUp) break;
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
            var actual = await replica.ScalarAsync<string>(summary);
            Assert.That(actual, Is.EqualTo(expected), Because($"{replica.Name} holds exactly the rows of the primary {primary.Name} once it replayed up to {lsn}"));
        }
    }
}
