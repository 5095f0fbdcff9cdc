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
            // Right after bootstrap the leader may still be restarting PostgreSQL (post-bootstrap): retry a transient refusal.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await health.Leader.QueryAsync("CREATE TABLE IF NOT EXISTS e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());");
                    break;
                }
                catch (Npgsql.NpgsqlException ex) when (ex.IsTransient && attempt < 30)
                {
                    TestContext.Progress.WriteLine($"creating e2e_probe on {health.Leader.Name}: {ex.Message}; retrying");
                    await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
                    health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(60), "bootstrap on Consul (retry)");
                }
            }
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

/// <summary>
/// Fidelity check of the Consul API test server: Debian's Patroni 3.0.2 (with python3-consul) runs a two-node cluster
/// on it — bootstrap, a streaming replica, a switchover through patronictl. If Patroni cannot, the server is wrong.
/// The server keeps Consul's default minimum session TTL (10 s): ttl 20 gives Patroni 10 s sessions.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class PatroniOnConsulTests
{
    private const string Scope = "patroni-consul";
    private const string Patroni = "/usr/bin/patroni";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private string _root = "";
    private ConsulTestServer.ConsulTestServer _consul = null!;
    private readonly List<PatroniNode> _nodes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        E2eEnvironment.RequireServers();
        if (!File.Exists(Patroni)) E2eEnvironment.Missing($"Debian's Patroni ({Patroni}) is not installed. Run the tests through scripts/test, which installs patroni and python3-consul.");
        var (consulModule, _, _) = await ProcessLauncher.RunAsync("python3", ["-c", "import consul"], TimeSpan.FromSeconds(20));
        if (consulModule != 0) E2eEnvironment.Missing("python3-consul is not installed (Patroni's consul backend needs it). Run the tests through scripts/test.");

        _root = Directory.CreateTempSubdirectory("pgha-patroni-consul-").FullName;
        var ports = E2eEnvironment.FreePorts(5);
        _consul = await ConsulTestServer.ConsulTestServer.StartAsync(new PgHa.ConsulTestServer.ConsulTestServerOptions { Port = ports[0] });
        for (var i = 1; i <= 2; i++)
        {
            var dir = Path.Combine(_root, $"node{i}");
            Directory.CreateDirectory(dir);
            var (pg, rest) = (ports[2 * i - 1], ports[2 * i]);
            await File.WriteAllTextAsync(Path.Combine(dir, "patroni.yml"), Yaml($"node{i}", pg, rest, dir, ports[0]));
            _nodes.Add(new PatroniNode($"node{i}", pg, rest, dir, null));
        }
        for (var i = 0; i < _nodes.Count; i++)
        {
            var n = _nodes[i];
            _nodes[i] = n with { Agent = ProcessLauncher.StartLogged(Path.Combine(n.Dir, "patroni.log"), Patroni, Path.Combine(n.Dir, "patroni.yml")) };
            // Let the first node win the bootstrap race; the second then clones from it.
            if (i == 0) await Task.Delay(TimeSpan.FromSeconds(3), TimeProvider.System);
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var n in _nodes.Where(n => n.Agent is { HasExited: false }))
            Os.Signal(n.Agent!.Id, Os.SIGTERM); // Patroni stops PostgreSQL and exits
        foreach (var n in _nodes.Where(n => n.Agent is not null))
        {
            if (!n.Agent!.WaitForExit(TimeSpan.FromSeconds(30))) n.Agent.Kill(entireProcessTree: true);
            n.Agent.Dispose();
            var data = Path.Combine(n.Dir, "data");
            if (File.Exists(Path.Combine(data, "postmaster.pid")))
                await ProcessLauncher.RunAsync(Path.Combine(E2eEnvironment.PgBinDirectory, "pg_ctl"), ["stop", "-D", data, "-m", "immediate"], TimeSpan.FromSeconds(30));
        }
        _http.Dispose();
        if (_consul is not null) await _consul.DisposeAsync();
    }

    private sealed record PatroniNode(string Name, int Pg, int Rest, string Dir, System.Diagnostics.Process? Agent);

    private string Diagnostics() => string.Concat(_nodes.Select(n => $"\n---- {n.Name} patroni.log ----\n{ProcessLauncher.Tail(Path.Combine(n.Dir, "patroni.log"), 40)}"));

    private static string Yaml(string name, int pg, int rest, string dir, int consulPort) => $"""
        scope: {Scope}
        namespace: /service/
        name: {name}
        restapi:
          listen: 127.0.0.1:{rest}
          connect_address: 127.0.0.1:{rest}
        consul:
          host: 127.0.0.1:{consulPort}
        bootstrap:
          dcs:
            ttl: 20
            loop_wait: 2
            retry_timeout: 5
            maximum_lag_on_failover: 1048576
            postgresql:
              use_pg_rewind: true
              use_slots: true
          initdb:
          - encoding: UTF8
          pg_hba:
          - local all all trust
          - host replication replicator 127.0.0.1/32 scram-sha-256
          - host all all 127.0.0.1/32 scram-sha-256
        postgresql:
          listen: 127.0.0.1:{pg}
          connect_address: 127.0.0.1:{pg}
          data_dir: {Path.Combine(dir, "data")}
          bin_dir: {E2eEnvironment.PgBinDirectory}
          pgpass: {Path.Combine(dir, "pgpass")}
          authentication:
            superuser:
              username: postgres
              password: postgres-secret
            replication:
              username: replicator
              password: replicator-secret
          parameters:
            unix_socket_directories: {dir}
            shared_buffers: 32MB
        watchdog:
          mode: off
        """;

    private async Task<JsonObject?> StatusAsync(int rest)
    {
        try
        {
            return JsonNode.Parse(await _http.GetStringAsync(new Uri($"http://127.0.0.1:{rest}/patroni")))?.AsObject();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private string? ConsulLeader() =>
        _consul.Store.Read($"service/{Scope}/leader", recurse: false).Entries.SingleOrDefault() is { } e ? Encoding.UTF8.GetString(e.Value) : null;

    /// <summary>Waits until <paramref name="leader"/> runs as primary holding the Consul leader key, with the other node streaming from it.</summary>
    private async Task<string> WaitForLeaderWithStreamingReplicaAsync(string? leader, string context)
    {
        var started = TimeProvider.System.GetTimestamp();
        var observed = "";
        while (TimeProvider.System.GetElapsedTime(started) < Timeout)
        {
            var statuses = new Dictionary<string, JsonObject?>();
            foreach (var n in _nodes) statuses[n.Name] = await StatusAsync(n.Rest);
            var consulLeader = ConsulLeader();
            observed = $"consul leader {consulLeader ?? "(none)"}; " + string.Join("; ", statuses.Select(s => $"{s.Key}: {s.Value?.ToJsonString() ?? "no answer"}"));
            var primary = statuses.FirstOrDefault(s => s.Value is { } v && PgHaCluster.Str(v, "role") == "master" && PgHaCluster.Str(v, "state") == "running").Key;
            if (primary is not null && primary == consulLeader && (leader is null || primary == leader))
            {
                var streaming = statuses[primary]!["replication"] is JsonArray replication
                    && _nodes.Where(n => n.Name != primary).All(n => replication.Any(r => r?["application_name"]?.GetValue<string>() == n.Name && r["state"]?.GetValue<string>() == "streaming"));
                var replicasRunning = _nodes.Where(n => n.Name != primary).All(n => statuses[n.Name] is { } v && PgHaCluster.Str(v, "role") == "replica" && PgHaCluster.Str(v, "state") == "running");
                if (streaming && replicasRunning) return primary;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System);
        }
        Assert.Fail($"{context}: no primary with a streaming replica within {Timeout.TotalSeconds} s; last seen: {observed}{Diagnostics()}");
        return "";
    }

    [Test]
    public async Task PatroniBootstrapsReplicatesAndSwitchesOverOnTheConsulTestServer()
    {
        var leader = await WaitForLeaderWithStreamingReplicaAsync(null, "bootstrap");
        var prefix = $"service/{Scope}/";
        var keys = _consul.Store.Read(prefix, recurse: true).Entries.ToDictionary(e => e.Key);
        TestContext.Progress.WriteLine($"Patroni bootstrapped on the Consul test server; leader {leader}; keys {string.Join(", ", keys.Keys.Order(StringComparer.Ordinal))}");
        Assert.That(keys.Keys, Is.SupersetOf(new[] { prefix + "leader", prefix + "initialize", prefix + "config", prefix + "members/node1", prefix + "members/node2" }), Diagnostics);
        var session = _consul.Store.GetSession(keys[prefix + "leader"].Session ?? "");
        Assert.That((session?.Behavior, session?.Ttl, session?.Name), Is.EqualTo(("delete", "10.0s", $"{Scope}-{leader}")),
            "Patroni's session: behavior delete, TTL = ttl/2 written as a float, named <scope>-<name>");

        var candidate = _nodes.Single(n => n.Name != leader);
        var (code, stdout, stderr) = await ProcessLauncher.RunAsync("/usr/bin/patronictl",
            ["-c", Path.Combine(candidate.Dir, "patroni.yml"), "switchover", "--leader", leader, "--candidate", candidate.Name, "--force"], TimeSpan.FromSeconds(90));
        TestContext.Progress.WriteLine($"patronictl switchover: exit {code}\n{stdout}\n{stderr}");
        Assert.That(code, Is.Zero, () => $"patronictl switchover failed: {stdout}\n{stderr}{Diagnostics()}");

        var after = await WaitForLeaderWithStreamingReplicaAsync(candidate.Name, "after the switchover");
        Assert.That(after, Is.EqualTo(candidate.Name));
        Assert.That(_consul.Store.Read(prefix + "failover", recurse: false).Entries.Select(e => Encoding.UTF8.GetString(e.Value)).SingleOrDefault() ?? "",
            Does.Not.Contain("\"member\""), "the failover key was consumed");
    }
}
