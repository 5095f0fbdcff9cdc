using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Operating a PgHa cluster with the tools Patroni users already have: Debian's <c>patronictl</c> 3.0.2 (list,
/// switchover, history, edit-config, pause, resume), HAProxy health-checking <c>GET /primary</c>, and maintenance mode.
/// One cluster serves the whole fixture (a cluster start costs ~20 s); every test starts from, and leaves, one leader
/// and two streaming replicas.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class OperateTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;
    private string _ctlConfig = "";

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
        if (!File.Exists(E2eEnvironment.PatroniCtl))
            E2eEnvironment.Missing($"patronictl ({E2eEnvironment.PatroniCtl}) is not installed: run scripts/test as root (it installs Debian's patroni and python3-etcd), or apt-get install -y patroni python3-etcd.");
        _cluster = await PgHaCluster.StartAsync();
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap from empty data directories");
            await health.Leader.QueryAsync("""
                CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE TABLE e2e_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
            // patronictl needs only the DCS section: it finds the members and their REST APIs there.
            _ctlConfig = Path.Combine(_cluster.Root, "patronictl.yml");
            await File.WriteAllTextAsync(_ctlConfig, $"""
                scope: {PgHaCluster.Scope}
                namespace: /service/
                etcd3:
                  hosts: {_cluster.Etcd.Endpoint}
                """);
            TestContext.Progress.WriteLine($"cluster in {_cluster.Root}: {health.Description}");
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
        foreach (var node in _cluster.Nodes.Where(n => !n.IsAgentRunning)) node.StartAgent();
    }

    /// <summary>Runs Debian's patronictl against the cluster (config: the DCS section only).</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr, double Seconds)> CtlAsync(params string[] args)
    {
        var started = Now;
        var run = await ProcessLauncher.RunAsync(E2eEnvironment.PatroniCtl, ["-c", _ctlConfig, .. args], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["HOME"] = _cluster.Root, ["LANG"] = "C.UTF-8", ["LC_ALL"] = "C.UTF-8" });
        var seconds = Seconds(started, Now);
        Report($"patronictl {string.Join(' ', args)} -> exit {run.ExitCode} in {seconds:0.00} s\n{run.Stdout}{(run.Stderr.Length > 0 ? "stderr: " + run.Stderr : "")}");
        return (run.ExitCode, run.Stdout, run.Stderr, seconds);
    }

    /// <summary>`patronictl list -f json`: one object per member.</summary>
    private async Task<List<JsonObject>> ListAsync()
    {
        var run = await CtlAsync("list", "-f", "json");
        Assert.That(run.ExitCode, Is.Zero, Because($"patronictl list exits 0; stderr:\n{run.Stderr}"));
        return [.. JsonNode.Parse(run.Stdout)!.AsArray().Select(n => n!.AsObject())];
    }

    private static string Text(JsonObject o, string key) => o[key]?.ToString() ?? "";

    private async Task<JsonObject> RestConfigAsync(ClusterNode node)
    {
        using var response = await _cluster.Http.GetAsync(node.RestUrl + "/config");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Offset of the end of a node's agent log, to read what it logged after a point.</summary>
    private static long LogLength(ClusterNode node) => File.Exists(node.LogPath) ? new FileInfo(node.LogPath).Length : 0;

    private static string LogSince(ClusterNode node, long offset)
    {
        using var stream = new FileStream(node.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The replica a switchover did not involve only points its running PostgreSQL at the new leader: same postmaster,
    /// no pg_rewind (its WAL receiver was down while it was told to follow, which once made it look diverged).
    /// </summary>
    private void AssertUninvolvedReplicaKeptRunning(ClusterNode bystander, int? postmasterBefore, long logOffset, ClusterNode newLeader)
    {
        var log = LogSince(bystander, logOffset);
        Report($"{bystander.Name}, the replica the switchover did not involve: postmaster pid {postmasterBefore} before, {bystander.PostmasterPid()} after; " +
               $"pg_rewind {(log.Contains("running pg_rewind", StringComparison.Ordinal) ? "ran" : "did not run")}");
        Assert.That(log, Does.Not.Contain("running pg_rewind"),
            Because($"{bystander.Name} neither was nor became the leader: it follows {newLeader.Name} without pg_rewind; its log since the switchover:\n{log}"));
        Assert.That(bystander.PostmasterPid(), Is.Not.Null.And.EqualTo(postmasterBefore),
            Because($"{bystander.Name}'s PostgreSQL is reconfigured with a reload, not restarted; its log since the switchover:\n{log}"));
    }

    /// <summary>The longest time between two consecutive acknowledged writes from <paramref name="from"/> on.</summary>
    private static (double Seconds, double StartedAt) MaxGap(IReadOnlyList<Ack> acks, long from)
    {
        var times = acks.Select(a => a.At).Where(t => t >= from).Order().ToList();
        var best = (0.0, 0.0);
        for (var i = 1; i < times.Count; i++)
        {
            var gap = Seconds(times[i - 1], times[i]);
            if (gap > best.Item1) best = (gap, Seconds(from, times[i - 1]));
        }
        return best;
    }

    [Test, Order(1)]
    public async Task PatronictlListsSwitchesOverShowsHistoryAndEditsTheConfigOfAPgHaCluster()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var candidate = before.Replicas.OrderBy(n => n.Name, StringComparer.Ordinal).First();

        // list: the leader and two running replicas, on the cluster's timeline.
        var members = await ListAsync();
        Assert.That(members.Select(m => (Text(m, "Member"), Text(m, "Role"), Text(m, "State"), Text(m, "TL"))),
            Is.EquivalentTo(_cluster.Nodes.Select(n => (n.Name, n == old ? "Leader" : "Replica", "running", before.Timeline.ToString(CultureInfo.InvariantCulture)))),
            Because($"patronictl list shows {old.Name} as the leader and the others as running replicas on timeline {before.Timeline}"));

        // switchover with a writer running: no acknowledged write lost, one primary at a time.
        var origin = Now;
        await using var writer = new Writer(_cluster, firstId: 5_000_000_000);
        await using var probes = new WriteProbes(_cluster.Nodes);
        writer.Start();
        probes.Start();
        Assert.That(await writer.WaitForAckAfterAsync(origin, TimeSpan.FromSeconds(15)), Is.True, Because(() => $"the writer gets writes through before the switchover (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        var oldLog = LogLength(old);
        var bystander = _cluster.Nodes.Single(n => n != old && n != candidate);
        var (bystanderPid, bystanderLog) = (bystander.PostmasterPid(), LogLength(bystander));
        var commandAt = Now;
        var switchover = await CtlAsync("switchover", "--leader", old.Name, "--candidate", candidate.Name, "--force");
        Assert.That(switchover.ExitCode, Is.Zero, Because($"patronictl switchover exits 0; stderr:\n{switchover.Stderr}"));
        Assert.That(switchover.Stdout, Does.Contain($"Successfully switched over to \"{candidate.Name}\""), Because($"patronictl reports the switchover to {candidate.Name}:\n{switchover.Stdout}"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(candidate.Name), Because($"the DCS names {candidate.Name} as the leader once patronictl returned"));
        var onCandidate = await probes.WaitForAsync(r => r.Accepted && r.Node == candidate.Name && r.Started > commandAt, TimeSpan.FromSeconds(20));
        Assert.That(onCandidate, Is.Not.Null, Because($"{candidate.Name} accepts writes after the switchover"));
        Assert.That(await writer.WaitForAckAfterAsync(onCandidate!.Finished, TimeSpan.FromSeconds(20)), Is.True,
            Because(() => $"the multi-host writer finds the new primary {candidate.Name} (last error: {writer.LastError})"));
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await writer.StopAsync();
        await probes.StopAsync();

        var history = WriteHistory.Of(_cluster, probes, writer, origin);
        var (gap, gapAt) = MaxGap(writer.Acks, commandAt);
        Report(history.ToString());
        Report($"switchover {old.Name} -> {candidate.Name}: patronictl ran {switchover.Seconds:0.00} s; longest gap between acknowledged writes {gap:0.000} s " +
               $"(starting {gapAt:0.000} s after the command started; writer: {writer.Acks.Count} acks, {writer.Failures} failed attempts)");
        Assert.That(history.NodesInSeveralBlocks, Is.Empty, Because($"never two nodes accepting writes: {history}"));
        Assert.That(history.Blocks.Select(b => b.Node).Distinct(), Is.EqualTo(new[] { old.Name, candidate.Name }), Because($"writes went to {old.Name}, then to {candidate.Name} only: {history}"));
        var missing = await writer.MissingOnAsync(candidate);
        Assert.That(missing.Select(a => a.Id), Is.Empty, Because($"a switchover loses no acknowledged write ({missing.Count} missing on {candidate.Name})"));

        // The old leader rejoins as a streaming replica of the new timeline, without a rewind (its shutdown checkpoint
        // was streamed to the candidate before the lock was released).
        var rejoinStarted = Now;
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, $"after the switchover to {candidate.Name}");
        Assert.That(after.Leader, Is.EqualTo(candidate), Because($"{candidate.Name} leads after the switchover: {after.Description}"));
        Assert.That(after.Timeline, Is.EqualTo(before.Timeline + 1), Because($"the promotion started timeline {before.Timeline + 1}: {after.Description}"));
        var oldLogSince = LogSince(old, oldLog);
        Report($"{old.Name} streams from {candidate.Name} {Seconds(commandAt, Now):0.0} s after the command started ({Seconds(rejoinStarted, Now):0.0} s after it returned)");
        Assert.That(oldLogSince, Does.Not.Contain("running pg_rewind"), Because($"a graceful switchover needs no pg_rewind on the old leader; its log since the switchover:\n{oldLogSince}"));
        AssertUninvolvedReplicaKeptRunning(bystander, bystanderPid, bystanderLog, candidate);

        // history: the switch off the old timeline, naming the new leader.
        // (The new leader writes the history key in the cycle after its promotion; allow it a few cycles.)
        var historyAsked = Now;
        (int ExitCode, string Stdout, string Stderr, double Seconds) historyRun;
        List<JsonObject> lines;
        while (true)
        {
            historyRun = await CtlAsync("history", "-f", "json");
            Assert.That(historyRun.ExitCode, Is.Zero, Because($"patronictl history exits 0; stderr:\n{historyRun.Stderr}"));
            lines = [.. JsonNode.Parse(historyRun.Stdout)!.AsArray().Select(n => n!.AsObject())];
            if (lines.Count > 0 || Seconds(historyAsked, Now) > 10) break;
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        }
        Assert.That(lines, Is.Not.Empty, Because($"patronictl history shows the timeline switch:\n{historyRun.Stdout}"));
        var last = lines[^1];
        Assert.That((Text(last, "TL"), Text(last, "New Leader")), Is.EqualTo((before.Timeline.ToString(CultureInfo.InvariantCulture), candidate.Name)),
            Because($"the newest history line is the end of timeline {before.Timeline}, with {candidate.Name} as the new leader:\n{historyRun.Stdout}"));

        // edit-config, non-interactive: a global key and a PostgreSQL parameter, applied to every node.
        var edit = await CtlAsync("edit-config", "-s", "maximum_lag_on_failover=2097152", "-p", "work_mem=8MB", "--force");
        Assert.That(edit.ExitCode, Is.Zero, Because($"patronictl edit-config exits 0; stderr:\n{edit.Stderr}"));
        var config = await RestConfigAsync(candidate);
        Assert.That(config["maximum_lag_on_failover"]?.GetValue<long>(), Is.EqualTo(2097152), Because($"GET /config has the new maximum_lag_on_failover: {config.ToJsonString()}"));
        Assert.That(config["postgresql"]?["parameters"]?["work_mem"]?.ToString(), Is.EqualTo("8MB"), Because($"GET /config has postgresql.parameters.work_mem: {config.ToJsonString()}"));
        var applied = Now;
        var workMem = new Dictionary<string, string>();
        while (Seconds(applied, Now) < 30)
        {
            foreach (var node in _cluster.Nodes)
            {
                try { workMem[node.Name] = await node.ScalarAsync<string>("SHOW work_mem"); }
                catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException) { workMem[node.Name] = "error: " + ex.Message; }
            }
            if (workMem.Values.All(v => v == "8MB")) break;
            await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System);
        }
        Report($"work_mem after edit-config ({Seconds(applied, Now):0.0} s): {string.Join(", ", workMem.Select(kv => $"{kv.Key}={kv.Value}"))}");
        Assert.That(workMem.Values, Is.All.EqualTo("8MB"), Because($"every node applies work_mem=8MB from /config within 30 s: {string.Join(", ", workMem)}"));
        var restore = await CtlAsync("edit-config", "-s", $"maximum_lag_on_failover={PgHaCluster.MaximumLagOnFailover}", "-p", "work_mem=null", "--force");
        Assert.That(restore.ExitCode, Is.Zero, Because($"patronictl edit-config (restore) exits 0; stderr:\n{restore.Stderr}"));
        config = await RestConfigAsync(old);
        Assert.That(config["postgresql"]?["parameters"]?["work_mem"], Is.Null, Because($"-p work_mem=null removes the parameter: {config.ToJsonString()}"));
    }

    [Test, Order(2)]
    public async Task HaproxyCheckingGetPrimaryRoutesToTheLeaderAndFollowsASwitchover()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var candidate = before.Replicas.OrderBy(n => n.Name, StringComparer.Ordinal).First();
        await using var haproxy = await HaproxyProcess.StartAsync(_cluster);

        // HAProxy marks the leader up after its first successful check, the replicas (503 on /primary) down.
        var started = Now;
        (int Port, bool InRecovery)? answer = null;
        while (Seconds(started, Now) < 15)
        {
            answer = await haproxy.WhoAnswersAsync();
            if (answer is { } a && a.Port == old.PgPort && !a.InRecovery) break;
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
        Assert.That(answer, Is.EqualTo((old.PgPort, false)), Because($"a connection through HAProxy (port {haproxy.Port}) reaches the leader {old.Name} (port {old.PgPort}) as a primary; got {answer}; haproxy log:\n{ProcessLauncher.Tail(haproxy.LogPath, 30)}"));
        // HAProxy starts every server as up and marks one down only after `fall` failed checks: until the replicas'
        // checks have failed that often, round-robin may still send a connection to them.
        await Task.Delay(HaproxyProcess.CheckInterval * 3, TimeProvider.System);
        for (var i = 0; i < 10; i++)
        {
            var again = await haproxy.WhoAnswersAsync();
            Assert.That(again, Is.EqualTo((old.PgPort, false)), Because($"every new connection through HAProxy reaches the leader {old.Name}; connection {i} reached {again}"));
        }
        await using (var connection = new Npgsql.NpgsqlConnection(haproxy.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand("INSERT INTO e2e_writes (id, port) VALUES (6000000000, inet_server_port())", connection);
            Assert.That(await insert.ExecuteNonQueryAsync(), Is.EqualTo(1), Because("a write through HAProxy commits"));
        }

        // Switchover through the REST API (what patronictl does), then HAProxy's checks move the traffic. It is the
        // fixture's second one: the replica it does not involve replays a timeline its last restartpoint is not on.
        var bystander = _cluster.Nodes.Single(n => n != old && n != candidate);
        var (bystanderPid, bystanderLog) = (bystander.PostmasterPid(), LogLength(bystander));
        var body = new JsonObject { ["leader"] = old.Name, ["candidate"] = candidate.Name }.ToJsonString();
        var requestedAt = Now;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using (var response = await client.PostAsync(old.RestUrl + "/switchover", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            var text = await response.Content.ReadAsStringAsync();
            Report($"POST {old.RestUrl}/switchover {body} -> {(int)response.StatusCode} {text} in {Seconds(requestedAt, Now):0.00} s");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), Because($"POST /switchover answers 200: {text}"));
            Assert.That(text, Does.Contain($"Successfully switched over to \"{candidate.Name}\""), Because($"POST /switchover names the new leader: {text}"));
        }
        var routedToReplica = 0;
        var refused = 0;
        while (Seconds(requestedAt, Now) < 20)
        {
            answer = await haproxy.WhoAnswersAsync();
            if (answer is { } a && a.Port == candidate.PgPort && !a.InRecovery) break;
            if (answer is null) refused++;
            else if (answer.Value.InRecovery) routedToReplica++;
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
        var followed = Seconds(requestedAt, Now);
        Report($"HAProxy routes to {candidate.Name} {followed:0.00} s after the switchover request (meanwhile {refused} connection attempts failed, {routedToReplica} reached a replica; check interval {HaproxyProcess.CheckInterval.TotalMilliseconds:0} ms, fall 2)");
        Assert.That(answer, Is.EqualTo((candidate.PgPort, false)), Because($"after the switchover HAProxy routes to the new leader {candidate.Name} (port {candidate.PgPort}); last answer {answer}; haproxy log:\n{ProcessLauncher.Tail(haproxy.LogPath, 30)}"));
        // Once the checks have settled, HAProxy sends nothing to the old leader any more.
        await Task.Delay(HaproxyProcess.CheckInterval * 3, TimeProvider.System);
        for (var i = 0; i < 10; i++)
        {
            var again = await haproxy.WhoAnswersAsync();
            Assert.That(again, Is.EqualTo((candidate.PgPort, false)), Because($"every new connection through HAProxy reaches the new leader {candidate.Name}; connection {i} reached {again}"));
        }
        await using (var connection = new Npgsql.NpgsqlConnection(haproxy.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand("INSERT INTO e2e_writes (id, port) VALUES (6000000001, inet_server_port())", connection);
            Assert.That(await insert.ExecuteNonQueryAsync(), Is.EqualTo(1), Because("a write through HAProxy commits on the new leader"));
        }
        var healed = await _cluster.WaitForHealthyAsync(HealTimeout, "after the switchover behind HAProxy");
        Assert.That(healed.Leader, Is.EqualTo(candidate), Because($"{candidate.Name} leads: {healed.Description}"));
        AssertUninvolvedReplicaKeptRunning(bystander, bystanderPid, bystanderLog, candidate);
    }

    [Test, Order(3)]
    public async Task PausedClusterLeavesACrashedLeaderDownButAllowsANamedSwitchoverAndHealsOnResume()
    {
        var before = await _cluster.WaitForHealthyAsync(HealTimeout, "before the scenario");
        var old = before.Leader;
        var candidate = before.Replicas.OrderBy(n => n.Name, StringComparer.Ordinal).First();

        // pause (PATCH /config {"pause": true} on the leader); --wait polls until every member key says pause.
        var pause = await CtlAsync("pause", "--wait");
        Assert.That(pause.ExitCode, Is.Zero, Because($"patronictl pause exits 0; stderr:\n{pause.Stderr}"));
        Assert.That(pause.Stdout, Does.Contain("Success: cluster management is paused"), Because($"patronictl pause succeeds:\n{pause.Stdout}"));
        Assert.That((await RestConfigAsync(old))["pause"]?.GetValue<bool>(), Is.True, Because("GET /config has pause: true"));
        foreach (var node in _cluster.Nodes)
        {
            var status = await node.StatusAsync(_cluster.Http);
            Assert.That(status?["pause"]?.GetValue<bool>(), Is.True, Because($"GET /patroni of {node.Name} says pause: true: {status?.ToJsonString()}"));
        }
        var list = await CtlAsync("list");
        Assert.That(list.Stdout, Does.Contain("Maintenance mode: on"), Because($"patronictl list shows maintenance mode:\n{list.Stdout}"));

        // A switchover naming its candidate is an operator's action: it still works while paused.
        var bystander = _cluster.Nodes.Single(n => n != old && n != candidate);
        var (bystanderPid, bystanderLog) = (bystander.PostmasterPid(), LogLength(bystander));
        var switchover = await CtlAsync("switchover", "--leader", old.Name, "--candidate", candidate.Name, "--force");
        Assert.That(switchover.ExitCode, Is.Zero, Because($"patronictl switchover exits 0 while paused; stderr:\n{switchover.Stderr}"));
        Assert.That(switchover.Stdout, Does.Contain($"Successfully switched over to \"{candidate.Name}\""), Because($"the switchover to {candidate.Name} succeeds while paused:\n{switchover.Stdout}"));
        var paused = await _cluster.WaitForHealthyAsync(HealTimeout, $"after the paused switchover to {candidate.Name}");
        Assert.That(paused.Leader, Is.EqualTo(candidate), Because($"{candidate.Name} leads after the paused switchover and {old.Name} streams from it: {paused.Description}"));
        AssertUninvolvedReplicaKeptRunning(bystander, bystanderPid, bystanderLog, candidate);

        // kill -9 the leader's postmaster: in maintenance mode nobody restarts it and nobody takes over.
        var leader = paused.Leader;
        var postmaster = leader.PostmasterPid();
        Assert.That(postmaster, Is.Not.Null, Because($"{leader.Name}'s postmaster runs"));
        await using var probes = new WriteProbes(_cluster.Nodes);
        probes.Start();
        Os.Signal(postmaster!.Value, Os.SIGKILL);
        var killedAt = Now;
        Report($"kill -9 of {leader.Name}'s postmaster (pid {postmaster}) while paused");
        var watch = PgHaCluster.Ttl + PgHaCluster.LoopWait * 2;
        var restartedBy = (int?)null;
        var leaderKeys = new HashSet<string>();
        while (Seconds(killedAt, Now) < watch.TotalSeconds)
        {
            // (The killed postmaster can linger as an unreaped zombie under its old pid: only a new pid is a restart.)
            if (leader.PostmasterPid() is { } pid && pid != postmaster.Value && Os.State(pid) is not 'Z') restartedBy = pid;
            leaderKeys.Add(await _cluster.DcsLeaderAsync() ?? "(none)");
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        await probes.StopAsync();
        var acceptedAfter = probes.Results.Where(r => r.Accepted && r.Started > killedAt).ToList();
        var replicaStates = new List<string>();
        foreach (var node in _cluster.Nodes.Where(n => n != leader))
            replicaStates.Add($"{node.Name}: in recovery = {await node.ScalarAsync<bool>("SELECT pg_is_in_recovery()")}");
        Report($"{watch.TotalSeconds:0} s after the kill: {leader.Name}'s postmaster {(restartedBy is null ? "stayed down" : $"was restarted (pid {restartedBy})")}; " +
               $"leader key seen: {string.Join(", ", leaderKeys)}; writes accepted after the kill: {acceptedAfter.Count}; {string.Join("; ", replicaStates)}");
        Assert.That(restartedBy, Is.Null, Because($"paused: {leader.Name}'s PostgreSQL stays down (no automatic restart) for ttl + 2 loop_wait"));
        Assert.That(acceptedAfter.Select(r => r.Node).Distinct(), Is.Empty, Because($"paused: no node accepts writes after the leader's postmaster died (no failover)"));
        Assert.That(replicaStates, Is.All.EndsWith("in recovery = True"), Because($"paused: the replicas are not promoted: {string.Join("; ", replicaStates)}"));
        Assert.That(leaderKeys.Where(k => k != "(none)" && k != leader.Name), Is.Empty, Because($"paused: no other member takes the leader lock (seen: {string.Join(", ", leaderKeys)})"));

        // resume: automatic failover is back, the cluster heals.
        var resumedAt = Now;
        var resume = await CtlAsync("resume", "--wait");
        Assert.That(resume.ExitCode, Is.Zero, Because($"patronictl resume exits 0; stderr:\n{resume.Stderr}"));
        Assert.That(resume.Stdout, Does.Contain("Success: cluster management is resumed"), Because($"patronictl resume succeeds:\n{resume.Stdout}"));
        var healed = await _cluster.WaitForHealthyAsync(HealTimeout, "after resume");
        Report($"after resume: healthy {Seconds(resumedAt, Now):0.0} s later: {healed.Description}");
        Assert.That((await RestConfigAsync(healed.Leader))["pause"], Is.Null, Because("resume removes pause from /config"));
        foreach (var node in _cluster.Nodes)
        {
            var status = await node.StatusAsync(_cluster.Http);
            Assert.That(status?["pause"], Is.Null, Because($"GET /patroni of {node.Name} no longer says pause: {status?.ToJsonString()}"));
        }
    }
}
