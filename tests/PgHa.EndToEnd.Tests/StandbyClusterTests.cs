using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Standby clusters and permanent slots (patroni-compat.md §5.13, §5.15) on real processes: cluster A (the harness's
/// three nodes, with permanent physical slots <c>e2e_permanent</c> and <c>standby_b</c> in its dynamic configuration)
/// and, on the same etcd, a two-node standby cluster B whose <c>standby_cluster</c> points at A's leader.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class StandbyClusterTests
{
    private const string StandbyScope = "pgha-e2e-standby";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _a = null!;
    private readonly List<ClusterNode> _b = [];

    private static long Now => TimeProvider.System.GetTimestamp();

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(string message) => () => message + Diagnostics();

    private string Diagnostics()
    {
        var sb = new StringBuilder(_a.Diagnostics(60));
        foreach (var node in _b)
        {
            sb.Append($"\n\n==== {node.LogPath} (last 80 lines) ====\n").Append(ProcessLauncher.Tail(node.LogPath, 80));
            sb.Append($"\n\n==== {node.StateDir}/postgresql.log (last 30) ====\n").Append(ProcessLauncher.Tail(Path.Combine(node.StateDir, "postgresql.log"), 30));
        }
        return sb.ToString();
    }

    [OneTimeSetUp]
    public async Task StartPrimaryClusterAsync()
    {
        E2eEnvironment.RequireServers();
        // A's permanent slots: one to watch across a switchover, one the standby cluster streams through.
        _a = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]), (_, yaml) => InsertIntoBootstrapDcs(yaml, """
            slots:
              e2e_permanent:
                type: physical
              standby_b:
                type: physical
            """));
        try
        {
            var health = await _a.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap of cluster A");
            await health.Leader.QueryAsync("CREATE TABLE standby_rows (id int PRIMARY KEY, at text)");
        }
        catch
        {
            await _a.DisposeAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await Task.WhenAll(_b.Select(n => n.StopAgentAsync(TimeSpan.FromSeconds(30))));
        if (_a is not null) await _a.DisposeAsync(); // also sweeps B's postmasters: they live under A's directory
    }

    /// <summary>Adds <paramref name="block"/> (written at the indentation of <c>bootstrap.dcs</c> keys) after <c>retry_timeout</c>.</summary>
    private static string InsertIntoBootstrapDcs(string yaml, string block)
    {
        var anchor = $"    retry_timeout: {PgHaCluster.RetryTimeoutSeconds}\n";
        Assert.That(yaml, Does.Contain(anchor));
        var lines = block.Split('\n').Select(l => "    " + l.TrimEnd());
        return yaml.Replace(anchor, anchor + string.Join('\n', lines) + "\n", StringComparison.Ordinal);
    }

    [Test, Order(1)]
    public async Task A_standby_cluster_clones_the_remote_streams_through_its_standby_leader_refuses_writes_and_promotes_when_the_section_goes()
    {
        var health = await _a.WaitForHealthyAsync(Timeout, "cluster A before the standby cluster starts");
        var remote = health.Leader;
        await remote.QueryAsync("INSERT INTO standby_rows VALUES (1, 'before B existed')");

        var ports = E2eEnvironment.FreePorts(4);
        for (var i = 0; i < 2; i++)
        {
            var node = new ClusterNode(_a.Root, $"standby{i + 1}", ports[2 * i], ports[2 * i + 1]);
            Directory.CreateDirectory(node.Dir);
            var yaml = InsertIntoBootstrapDcs(node.Yaml(StandbyScope, _a.Dcs.YamlSection), $"""
                standby_cluster:
                  host: 127.0.0.1
                  port: {remote.PgPort}
                  primary_slot_name: standby_b
                """);
            await File.WriteAllTextAsync(node.ConfigPath, yaml);
            _b.Add(node);
        }
        var started = Now;
        foreach (var node in _b) node.StartAgent();

        var (leader, replica) = await WaitForStandbyClusterAsync();
        Report($"standby cluster B up in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s: standby leader {leader.Name}, replica {replica.Name}, remote {remote.Name}");

        // The standby leader streams from A's leader through the permanent slot; the replica cascades from it.
        Assert.That(await remote.ScalarAsync<bool>("SELECT active FROM pg_replication_slots WHERE slot_name = 'standby_b'"), Is.True, Because("B's standby leader streams through standby_b on A"));
        Assert.That(await leader.ScalarAsync<string>("SELECT application_name FROM pg_stat_replication"), Is.EqualTo(replica.Name), Because("B's replica streams from B's standby leader"));

        await remote.QueryAsync("INSERT INTO standby_rows VALUES (2, 'written in A')");
        foreach (var node in _b)
            Assert.That(await WaitAsync(async () => await node.ScalarAsync<long>("SELECT count(*) FROM standby_rows") == 2), Is.True, Because($"the row written in A reaches {node.Name}"));

        foreach (var node in _b)
        {
            var refused = Assert.ThrowsAsync<PostgresException>(() => node.QueryAsync("INSERT INTO standby_rows VALUES (3, 'must fail')"));
            Assert.That(refused!.SqlState, Is.EqualTo(PostgresErrorCodes.ReadOnlySqlTransaction), Because($"{node.Name} refuses writes"));
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await StatusCodeAsync(leader, "/primary"), Is.EqualTo(503), Because("the standby leader is no primary"));
            Assert.That(await StatusCodeAsync(leader, "/standby-leader"), Is.EqualTo(200), Because("GET /standby-leader on the standby leader"));
            Assert.That(await StatusCodeAsync(leader, "/leader"), Is.EqualTo(200), Because("GET /leader on the standby leader"));
            Assert.That(await StatusCodeAsync(replica, "/standby-leader"), Is.EqualTo(503), Because("GET /standby-leader on B's replica"));
            Assert.That(await StatusCodeAsync(replica, "/replica"), Is.EqualTo(200), Because("GET /replica on B's replica"));
            Assert.That(await MemberRoleAsync(leader), Is.EqualTo("standby_leader"), Because("the member key says standby_leader"));
        }

        // Promote the whole cluster: remove the section.
        var patchedAt = Now;
        using (var patch = new StringContent("""{"standby_cluster":null}""", Encoding.UTF8, "application/json"))
        using (var response = await _a.Http.PatchAsync(leader.RestUrl + "/config", patch))
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), Because("PATCH /config removing standby_cluster"));
        Assert.That(await WaitAsync(async () =>
        {
            try
            {
                await leader.QueryAsync("INSERT INTO standby_rows VALUES (4, 'written in B after promotion')");
                return true;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction) { return false; }
        }), Is.True, Because($"{leader.Name} accepts writes after the section was removed"));
        Report($"B's leader {leader.Name} accepted writes {TimeProvider.System.GetElapsedTime(patchedAt).TotalSeconds:0.0} s after PATCH /config removed standby_cluster");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await WaitAsync(async () => PgHaCluster.Str((await leader.StatusAsync(_a.Http))!, "role") == "master"), Is.True, Because("B's leader reports role master"));
            Assert.That(await StatusCodeAsync(leader, "/primary"), Is.EqualTo(200), Because("GET /primary on B's promoted leader"));
            Assert.That(await WaitAsync(async () => await replica.ScalarAsync<long>("SELECT count(*) FROM standby_rows WHERE id = 4") == 1), Is.True, Because($"{replica.Name} follows B's new primary"));
            Assert.That(await remote.ScalarAsync<long>("SELECT count(*) FROM standby_rows WHERE id = 4"), Is.Zero, Because("A never sees B's own writes"));
        }
        await Task.WhenAll(_b.Select(n => n.StopAgentAsync(TimeSpan.FromSeconds(30))));
    }

    [Test, Order(2)]
    public async Task A_permanent_slot_is_kept_on_the_leader_copied_to_replicas_and_survives_a_switchover_at_a_position_not_behind()
    {
        var health = await _a.WaitForHealthyAsync(Timeout, "cluster A before the switchover");
        var old = health.Leader;
        var candidate = health.Replicas[0];
        await old.QueryAsync("INSERT INTO standby_rows SELECT g, 'wal' FROM generate_series(100, 5100) g");
        var before = await old.ScalarAsync<long>("SELECT pg_wal_lsn_diff(restart_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = 'e2e_permanent'");
        Assert.That(before, Is.GreaterThan(0), Because($"e2e_permanent exists on the leader {old.Name} with WAL reserved"));
        Assert.That(await WaitAsync(async () => await SlotPositionAsync(candidate, "e2e_permanent") is > 0), Is.True,
            Because($"the replica {candidate.Name} keeps a copy of e2e_permanent"));
        var status = (await _a.Etcd.RangeAsync(_a.KeyPrefix + "status")).Single().Value;
        Assert.That(JsonNode.Parse(status)!["slots"]?["e2e_permanent"], Is.Not.Null, Because($"the leader publishes e2e_permanent's position in status: {status}"));

        var body = new JsonObject { ["leader"] = old.Name, ["candidate"] = candidate.Name }.ToJsonString();
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) })
        using (var response = await client.PostAsync(old.RestUrl + "/switchover", new StringContent(body, Encoding.UTF8, "application/json")))
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), Because($"POST /switchover to {candidate.Name}: {await response.Content.ReadAsStringAsync()}"));
        var healed = await _a.WaitForHealthyAsync(Timeout, "after the switchover");
        Assert.That(healed.Leader, Is.EqualTo(candidate), Because($"{candidate.Name} leads: {healed.Description}"));

        var after = await SlotPositionAsync(candidate, "e2e_permanent");
        Report($"e2e_permanent: restart_lsn {before} on {old.Name} before, {after} on {candidate.Name} after the switchover");
        Assert.That(after, Is.GreaterThanOrEqualTo(before), Because("the permanent slot exists on the new leader at a position not behind the old one"));
        Assert.That(await WaitAsync(async () => await SlotPositionAsync(old, "e2e_permanent") is > 0), Is.True,
            Because($"the former leader {old.Name}, now a replica, keeps a copy"));
    }

    private static async Task<long?> SlotPositionAsync(ClusterNode node, string slot)
    {
        var rows = await node.QueryAsync($"SELECT pg_wal_lsn_diff(restart_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = '{slot}'");
        return rows.Count == 1 ? (long?)rows[0][0] : null;
    }

    /// <summary>Waits until B's DCS leader reports role standby_leader and the other B node streams from it.</summary>
    private async Task<(ClusterNode Leader, ClusterNode Replica)> WaitForStandbyClusterAsync()
    {
        var started = Now;
        var observed = "";
        while (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(120))
        {
            var leaderName = await _a.Dcs.LeaderAsync($"/service/{StandbyScope}/");
            var statuses = await Task.WhenAll(_b.Select(n => n.StatusAsync(_a.Http)));
            observed = $"B leader={leaderName ?? "(none)"}; " + string.Join("; ", _b.Select((n, i) => $"{n.Name}: {(statuses[i] is { } s ? $"{PgHaCluster.Str(s, "role")}/{PgHaCluster.Str(s, "state")}/{PgHaCluster.Str(s, "replication_state")}" : "(no answer)")}"));
            var leader = _b.FirstOrDefault(n => n.Name == leaderName);
            if (leader is not null)
            {
                var replica = _b.Single(n => n != leader);
                var ls = statuses[_b.IndexOf(leader)];
                var rs = statuses[_b.IndexOf(replica)];
                if (ls is not null && rs is not null && PgHaCluster.Str(ls, "role") == "standby_leader" && PgHaCluster.Str(ls, "state") == "running"
                    && PgHaCluster.Str(rs, "role") == "replica" && PgHaCluster.Str(rs, "replication_state") == "streaming")
                    return (leader, replica);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        Assert.Fail($"standby cluster B did not come up within 120 s. Last observed: {observed}{Diagnostics()}");
        throw new InvalidOperationException("unreachable");
    }

    private async Task<int> StatusCodeAsync(ClusterNode node, string path)
    {
        using var response = await _a.Http.GetAsync(node.RestUrl + path);
        return (int)response.StatusCode;
    }

    private async Task<string?> MemberRoleAsync(ClusterNode node)
    {
        var key = (await _a.Etcd.RangeAsync($"/service/{StandbyScope}/members/{node.Name}")).SingleOrDefault();
        return key is null ? null : (string?)JsonNode.Parse(key.Value)?["role"];
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition)
    {
        var started = Now;
        while (TimeProvider.System.GetElapsedTime(started) < Timeout)
        {
            try
            {
                if (await condition()) return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or HttpRequestException or InvalidOperationException) { }
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        return false;
    }
}
