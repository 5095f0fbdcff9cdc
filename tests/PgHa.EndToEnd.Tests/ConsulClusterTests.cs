using System.Text;
using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Three <c>pgha run</c> processes whose Patroni YAML has a <c>consul:</c> section, on the Consul API test server:
/// bootstrap to one leader and two streaming replicas under Patroni's Consul layout, fail over when the leader's agent
/// and postmaster die, and stop accepting writes on the leader when Consul stops answering.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class ConsulClusterTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;
    private ConsulServerProcess _consul = null!;

    private static long Now => TimeProvider.System.GetTimestamp();

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
        _cluster = await PgHaCluster.StartAsync((root, ports) => _consul = new ConsulServerProcess(root, ports[0]));
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap on Consul");
            await health.Leader.QueryAsync("CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());");
            TestContext.Progress.WriteLine($"Consul cluster in {_cluster.Root} bootstrapped: {health.Description}");
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
        if (_consul.IsFrozen) _consul.Thaw();
        foreach (var node in _cluster.Nodes.Where(n => !n.IsAgentRunning)) node.StartAgent();
    }

    [Test, Order(1)]
    public async Task BootstrapsUnderPatronisConsulKeysAndFailsOverWhenTheLeadersAgentAndPostmasterDie()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;

        // Patroni's Consul layout: keys without the leading slash, leader and members held by the nodes' sessions.
        var prefix = _cluster.KeyPrefix.TrimStart('/');
        var keys = _consul.Keys(_cluster.KeyPrefix).ToDictionary(e => e.Key);
        Report($"Consul keys: {string.Join(", ", keys.Keys.Order(StringComparer.Ordinal))}");
        Assert.That(keys.Keys, Is.SupersetOf(new[] { prefix + "leader", prefix + "initialize", prefix + "config", prefix + "members/node1", prefix + "members/node2", prefix + "members/node3" }),
            Because("Patroni's keys under service/<scope>/"));
        Assert.That(Encoding.UTF8.GetString(keys[prefix + "leader"].Value), Is.EqualTo(old.Name), Because("the leader key holds the leader's bare name"));
        var leaderSession = keys[prefix + "leader"].Session;
        Assert.That(leaderSession, Is.Not.Null, Because("the leader key is acquired by a session"));
        var session = _consul.Server.Store.GetSession(leaderSession!);
        Assert.That((session?.Behavior, session?.Ttl, session?.NodeChecks.Count), Is.EqualTo(("delete", "5s", 0)),
            Because("the session is Patroni's: behavior delete, TTL = ttl/2, no checks"));
        Assert.That(keys[prefix + "members/" + old.Name].Session, Is.EqualTo(leaderSession), Because("the leader's member key is held by the same session"));
        Assert.That(keys[prefix + "initialize"].Session, Is.Null, Because("initialize is not bound to a session"));
        var member = JsonNode.Parse(Encoding.UTF8.GetString(keys[prefix + "members/" + old.Name].Value))!.AsObject();
        Assert.That(PgHaCluster.Str(member, "role"), Is.EqualTo("master"), Because($"member key of {old.Name}: {member.ToJsonString()}"));

        await using var probes = new WriteProbes(_cluster.Nodes);
        probes.Start();
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        var postmaster = old.PostmasterPid();
        Assert.That(postmaster, Is.Not.Null, Because($"{old.Name}'s postmaster runs"));
        old.KillAgent();
        Os.Signal(postmaster!.Value, Os.SIGKILL);
        var killedAt = Now;
        Report($"kill -9 of {old.Name}'s agent and postmaster");

        var first = await probes.WaitForAsync(r => r.Accepted && r.Node != old.Name && r.Started > killedAt, TimeSpan.FromSeconds(60));
        Assert.That(first, Is.Not.Null, Because($"another node accepts writes within 60 s of killing the leader {old.Name}"));
        var seconds = WriteHistory.Since(killedAt, first!.Finished);
        // The dead node's session expires 2 × ttl/2 = ttl after its last renewal at the latest (the server waits exactly that).
        var bound = PgHaCluster.Ttl + PgHaCluster.LoopWait + TimeSpan.FromSeconds(5);
        Report($"failover: {first.Node} accepted writes {seconds:0.00} s after the kill (bound: ttl + loop_wait + 5 s = {bound.TotalSeconds:0} s)");
        await probes.StopAsync();
        Assert.That(TimeSpan.FromSeconds(seconds), Is.LessThanOrEqualTo(bound), Because("failover within ttl + loop_wait + slack"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(first.Node), Because($"Consul names the node that accepts writes ({first.Node})"));
        Assert.That(probes.Results.Where(r => r.Node == old.Name && r.Accepted && r.Started > killedAt), Is.Empty, Because($"the killed {old.Name} accepts nothing after the kill"));

        old.StartAgent();
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after restarting {old.Name}'s agent");
        Report($"healed: {after.Description}");
        Assert.That(after.Leader.Name, Is.EqualTo(first.Node), Because("the new leader stays while the old one rejoins"));
    }

    [Test, Order(2)]
    public async Task TheLeaderStopsAcceptingWritesWhenConsulStopsAnswering()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var leader = before.Leader;
        await using var probes = new WriteProbes(_cluster.Nodes);
        probes.Start();
        var accepted = await probes.WaitForAsync(r => r.Accepted && r.Node == leader.Name, TimeSpan.FromSeconds(15));
        Assert.That(accepted, Is.Not.Null, Because($"{leader.Name} accepts writes before the freeze"));

        _consul.Freeze();
        var frozenAt = Now;
        Report($"Consul frozen; leader {leader.Name}");
        // The session of the leader's last renewal lives at least ttl/2 (GuaranteedLockValidity): the leader must stop
        // before another node could possibly lead — here, refuse a write within ttl.
        var refused = await probes.WaitForAsync(r => !r.Accepted && r.Node == leader.Name && r.Started > frozenAt, PgHaCluster.Ttl + TimeSpan.FromSeconds(5));
        var lastAccepted = probes.Results.Where(r => r.Accepted && r.Node == leader.Name && r.Started > frozenAt).Select(r => r.Finished).DefaultIfEmpty(frozenAt).Max();
        var stoppedAfter = WriteHistory.Since(frozenAt, lastAccepted);
        Report($"{leader.Name} accepted its last write {stoppedAfter:0.000} s after the freeze; first refusal {(refused is null ? "never" : $"{WriteHistory.Since(frozenAt, refused.Started):0.000} s")} after it");
        Assert.That(refused, Is.Not.Null, Because($"{leader.Name} refuses writes while Consul does not answer"));
        Assert.That(stoppedAfter, Is.LessThan(PgHaCluster.Ttl.TotalSeconds / 2),
            Because($"{leader.Name} stops accepting writes before its session could be invalidated (ttl/2 after its last renewal)"));
        Assert.That(probes.Results.Where(r => r.Accepted && r.Node != leader.Name && r.Started > frozenAt), Is.Empty,
            Because("no other node accepts writes while Consul is frozen"));

        _consul.Thaw();
        await probes.StopAsync();
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after Consul answers again");
        Report($"healed after the thaw: {after.Description}");
    }
}
