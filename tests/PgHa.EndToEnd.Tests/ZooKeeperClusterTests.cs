using System.Globalization;
using System.Text;
using PgHa.Dcs.ZooKeeper.Client;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Three <c>pgha run</c> processes on a ZooKeeper 3.8 (Debian's jars) with a Patroni YAML whose DCS section is
/// <c>zookeeper: {hosts: [...]}</c> (ttl 10, loop_wait 2, retry_timeout 3): bootstrap, fail-over on the leader's death,
/// demotion when ZooKeeper stops answering, and Debian's patronictl reading the cluster from ZooKeeper.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class ZooKeeperClusterTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;

    private ZooKeeperProcess ZooKeeper => (ZooKeeperProcess)_cluster.Dcs;

    private static long Now => TimeProvider.System.GetTimestamp();

    private static double Seconds(long from, long to) => WriteHistory.Since(from, to);

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(string message) => () => message + _cluster.Diagnostics();

    private Func<string> Because(Func<string> message) => () => message() + _cluster.Diagnostics();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        ZooKeeperProcess.RequireJars();
        var started = Now;
        _cluster = await PgHaCluster.StartAsync((root, ports) => new ZooKeeperProcess(root, ports[0]));
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap on ZooKeeper");
            await health.Leader.QueryAsync("""
                CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
            TestContext.Progress.WriteLine($"cluster on ZooKeeper in {_cluster.Root} bootstrapped in {Seconds(started, Now):0.0} s: {health.Description}");
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
        if (_cluster.Dcs.IsFrozen) _cluster.Dcs.Thaw();
        foreach (var node in _cluster.Nodes.Where(n => !n.IsAgentRunning)) node.StartAgent();
    }

    [Test, Order(1)]
    public async Task BootstrapsUnderPatronisZnodesWithEphemeralLeaderAndMembers()
    {
        var health = await _cluster.WaitForHealthyAsync(HealTimeout, "after bootstrap");
        await using var client = ZooKeeper.Client();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
        var prefix = _cluster.KeyPrefix;
        var (names, _) = await client.GetChildrenAsync(prefix.TrimEnd('/'), watch: false, timeout.Token);
        var (leader, leaderStat) = await client.GetDataAsync(prefix + "leader", watch: false, timeout.Token);
        var (members, _) = await client.GetChildrenAsync(prefix + "members", watch: false, timeout.Token);
        var (_, initializeStat) = await client.GetDataAsync(prefix + "initialize", watch: false, timeout.Token);
        var owners = new List<long>();
        foreach (var member in members) owners.Add((await client.GetDataAsync(prefix + "members/" + member, watch: false, timeout.Token)).Stat.EphemeralOwner);
        await client.CloseSessionAsync(timeout.Token);
        Report($"znodes under {prefix}: {string.Join(", ", names.Order(StringComparer.Ordinal))}; members: {string.Join(", ", members.Order(StringComparer.Ordinal))}");

        Assert.That(names, Is.SupersetOf(new[] { "leader", "initialize", "config", "members" }), Because("Patroni's znodes under /service/<scope>/"));
        Assert.That(Encoding.UTF8.GetString(leader), Is.EqualTo(health.Leader.Name), Because("the leader znode holds the leader's bare name"));
        Assert.That(leaderStat.EphemeralOwner, Is.Not.Zero, Because("the leader znode is ephemeral"));
        Assert.That(initializeStat.EphemeralOwner, Is.Zero, Because("initialize is persistent"));
        Assert.That(members.Order(StringComparer.Ordinal), Is.EqualTo(new[] { "node1", "node2", "node3" }), Because("one member znode per node"));
        Assert.That(owners, Is.All.Not.Zero, Because("each member znode is ephemeral"));
        Assert.That(owners, Is.Unique, Because("each member znode belongs to its node's own session"));
        Assert.That(owners, Does.Contain(leaderStat.EphemeralOwner), Because("the leader's member znode and the lock share its session"));
    }

    [Test, Order(2)]
    public async Task KillingTheLeadersAgentAndPostmasterFailsOverToANodeThatAcceptsWrites()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 6_000_000_000);
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
        // The session expires ttl after the last request of the dead agent, rounded up to ZooKeeper's 1 s tick.
        var bound = PgHaCluster.Ttl + TimeSpan.FromSeconds(1) + PgHaCluster.LoopWait + TimeSpan.FromSeconds(5);
        var newLeader = _cluster.Node(first.Node);
        Report($"failover: {newLeader.Name} accepted writes {failoverSeconds:0.00} s after the kill (bound: ttl + tick + loop_wait + 5 s = {bound.TotalSeconds:0} s)");
        Assert.That(await writer.WaitForAckAfterAsync(first.Finished, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer finds the new primary {newLeader.Name} (last error: {writer.LastError})"));
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        // A backend orphaned by the postmaster's SIGKILL may still commit the write it was given as the kill landed; none later.
        Assert.That(history.SentAfter(old.Name, killedAt + TimeProvider.System.TimestampFrequency), Is.Empty,
            Because($"the killed {old.Name} accepts no write sent more than a second after the kill: {history}"));
        Assert.That(TimeSpan.FromSeconds(failoverSeconds), Is.LessThanOrEqualTo(bound),
            Because($"a replica accepts writes within ttl + tick + loop_wait (+ slack) of the leader's death; took {failoverSeconds:0.00} s"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(newLeader.Name), Because($"the leader znode names the node that accepts writes ({newLeader.Name})"));

        old.StartAgent();
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after restarting {old.Name}'s agent");
        Assert.That(after.Leader, Is.EqualTo(newLeader), Because($"{newLeader.Name} stays the leader while {old.Name} rejoins: {after.Description}"));
        Report($"healed: {after.Description}");
    }

    [Test, Order(3)]
    public async Task FreezingZooKeeperMakesTheLeaderStopAcceptingWritesAndNobodyElseTakesOver()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 7_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because(() => $"the writer gets writes through before the fault (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);

        _cluster.Dcs.Freeze();
        var frozenAt = Now;
        Report($"SIGSTOP of ZooKeeper at t={Seconds(origin, frozenAt):0.000} s");
        await Task.Delay(PgHaCluster.Ttl + TimeSpan.FromSeconds(4), TimeProvider.System);
        var thawedAt = Now;
        _cluster.Dcs.Thaw();
        Report($"SIGCONT of ZooKeeper at t={Seconds(origin, thawedAt):0.000} s");

        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after ZooKeeper was thawed");
        Assert.That(await writer.WaitForAckAfterAsync(Now, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer gets writes through after the cluster healed (last error: {writer.LastError})"));
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        Report(history.ToString());
        var lastOnLeader = history.On(leader.Name, frozenAt, thawedAt).DefaultIfEmpty(frozenAt).Max();
        var stoppedAfter = Seconds(frozenAt, lastOnLeader);
        // The leader's last request before the freeze was at most loop_wait earlier; its session cannot expire before ttl after it.
        var expiryBound = PgHaCluster.TtlSeconds - PgHaCluster.LoopWaitSeconds;
        Report($"{leader.Name} accepted its last write {stoppedAfter:0.000} s after the freeze (its session could not expire before {expiryBound} s); healed: {after.Description}");
        Assert.That(history.On(leader.Name, frozenAt, thawedAt, except: true), Is.Empty, Because($"no other node accepts writes while ZooKeeper is frozen: {history}"));
        Assert.That(stoppedAfter, Is.LessThan(expiryBound), Because($"{leader.Name} must stop accepting writes before its session could expire: {history}"));
        Assert.That(probes.Results.Any(r => r.Node == leader.Name && !r.Accepted && r.Started > frozenAt && r.Started < thawedAt), Is.True,
            Because($"{leader.Name} refuses writes during the outage: {history}"));
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        var missing = await writer.MissingOnAsync(after.Leader);
        Assert.That(missing.Select(a => a.Id), Is.Empty, Because($"a ZooKeeper outage loses no acknowledged write (leader before: {leader.Name}, after: {after.Leader.Name})"));
    }

    [Test, Order(4)]
    public async Task DebiansPatronictlListsThePgHaClusterStoredInZooKeeper()
    {
        var health = await _cluster.WaitForHealthyAsync(HealTimeout, "before patronictl");
        if (!File.Exists(E2eEnvironment.PatroniCtl) || !Directory.Exists("/usr/lib/python3/dist-packages/kazoo"))
            E2eEnvironment.Missing($"patronictl ({E2eEnvironment.PatroniCtl}) or python3-kazoo is not installed: run scripts/test as root (it installs patroni and python3-kazoo).");

        var config = Path.Combine(_cluster.Root, "patronictl-zk.yml");
        await File.WriteAllTextAsync(config, $"""
            scope: {PgHaCluster.Scope}
            namespace: /service/
            zookeeper:
              hosts:
              - {ZooKeeper.Endpoint}
            """);
        var environment = new Dictionary<string, string> { ["HOME"] = _cluster.Root };
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
        Assert.That(run.Stdout.Split('\n')[0], Does.StartWith($"+ Cluster: {PgHaCluster.Scope} "), Because($"the title names the cluster:\n{run.Stdout}"));
        var expected = _cluster.Nodes.Select(n => new[]
        {
            n.Name, $"127.0.0.1:{n.PgPort}", n == health.Leader ? "Leader" : "Replica", "running",
            health.Timeline.ToString(CultureInfo.InvariantCulture), n == health.Leader ? "" : "0",
        }).ToList();
        Assert.That(table, Is.EqualTo(expected), Because($"patronictl shows the leader, two replicas, timeline {health.Timeline} and lag 0:\n{run.Stdout}\nstderr:\n{run.Stderr}"));
    }

    [Test, Order(5)]
    public async Task AQuickAgentRestartReCreatesTheLeaderZnodeUnderTheNewSessionWithoutAFailover()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        var postmaster = leader.PostmasterPid();
        var leaderPath = _cluster.KeyPrefix + "leader";
        var memberPath = _cluster.KeyPrefix + "members/" + leader.Name;
        await using var client = ZooKeeper.Client();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120), TimeProvider.System);
        var oldOwner = (await client.GetDataAsync(leaderPath, watch: false, timeout.Token)).Stat.EphemeralOwner;

        // The old session outlives the agent by up to ttl: the restarted agent finds its name in a znode it does not own.
        var agentPid = leader.KillAgent();
        var killedAt = Now;
        await Task.Delay(TimeSpan.FromSeconds(0.5), TimeProvider.System);
        leader.StartAgent();
        long newOwner = oldOwner;
        string holder = "";
        while (!timeout.IsCancellationRequested)
        {
            try
            {
                var (value, stat) = await client.GetDataAsync(leaderPath, watch: false, timeout.Token);
                (holder, newOwner) = (Encoding.UTF8.GetString(value), stat.EphemeralOwner);
                if (newOwner != oldOwner) break;
            }
            catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
            {
                (holder, newOwner) = ("", 0);
            }
            await Task.Delay(TimeSpan.FromSeconds(0.2), TimeProvider.System);
        }
        var readoptedAfter = Seconds(killedAt, Now);
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after the quick agent restart");
        // The member znode follows at the agent's next touch, in the same cycle as the renewal or the next one.
        var memberOwner = 0L;
        while (!timeout.IsCancellationRequested)
        {
            memberOwner = (await client.GetDataAsync(memberPath, watch: false, timeout.Token)).Stat.EphemeralOwner;
            if (memberOwner == newOwner) break;
            await Task.Delay(TimeSpan.FromSeconds(0.2), TimeProvider.System);
        }
        Report($"kill -9 of {leader.Name}'s agent (pid {agentPid}), restarted 0.5 s later; leader znode owner 0x{oldOwner:x} -> 0x{newOwner:x} ({holder}) " +
               $"{readoptedAfter:0.0} s after the kill; postmaster pid {postmaster} -> {leader.PostmasterPid()}; {after.Description}");

        Assert.That(holder, Is.EqualTo(leader.Name), Because($"the leader znode still names {leader.Name}"));
        Assert.That(newOwner, Is.Not.EqualTo(oldOwner).And.Not.Zero, Because("the leader znode was re-created under the restarted agent's session"));
        Assert.That(memberOwner, Is.EqualTo(newOwner), Because("the lock and the member znode share the new session"));
        Assert.That(after.Leader, Is.EqualTo(leader), Because($"{leader.Name} is still the leader: {after.Description}"));
        Assert.That(after.Timeline, Is.EqualTo(before.Timeline), Because($"no promotion happened: {after.Description}"));
    }

    private static List<string[]> ParseTable(string output) =>
    [
        .. output.Split('\n')
            .Where(line => line.StartsWith('|'))
            .Select(line => line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .Where(cells => cells[0] != "Member"),
    ];
}
