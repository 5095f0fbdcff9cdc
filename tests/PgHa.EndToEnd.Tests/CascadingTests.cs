using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Cascading replication and tags on a real cluster (etcd + three <c>pgha run</c>, ttl 10, loop_wait 2): node1
/// bootstraps; node2 is tagged <c>nofailover</c>; node3 is tagged <c>replicatefrom: node2</c>. node3 must stream from
/// node2 through a slot node2 keeps for it, fall back to the leader when node2 goes away, and when the leader dies only
/// node3 may take over.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class CascadingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(string message) => () => message + _cluster.Diagnostics();

    private ClusterNode Node1 => _cluster.Node("node1");
    private ClusterNode Node2 => _cluster.Node("node2");
    private ClusterNode Node3 => _cluster.Node("node3");

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        _cluster = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]), (node, yaml) => node.Name switch
        {
            "node2" => yaml + "\ntags:\n  nofailover: true\n",
            "node3" => yaml + "\ntags:\n  replicatefrom: node2\npgha:\n  can_bootstrap: false\n",
            _ => yaml,
        });
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

    [Test]
    public async Task ReplicaTaggedReplicatefromCascadesFallsBackToTheLeaderAndANofailoverNodeNeverLeads()
    {
        // 1. node3 streams from node2, through the slot node2 keeps for it; the leader keeps no slot for node3.
        await WaitAsync("node1 leads, node2 streams from it and node3 from node2", async () =>
            await _cluster.DcsLeaderAsync() == "node1"
            && await StreamsFromAsync(Node1, "node2") && await StreamsFromAsync(Node2, "node3")
            && await SlotsAsync(Node2) == "node3:True" && await SlotsAsync(Node1) == "node2:True");
        var upstream = await Node3.ScalarAsync<string>("SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver");
        Assert.That(upstream, Is.EqualTo($"127.0.0.1:{Node2.PgPort}"), Because("node3's WAL receiver is connected to node2"));
        Report($"node3 streams from node2 ({upstream}); slots on node1: {await SlotsAsync(Node1)}, on node2: {await SlotsAsync(Node2)}");

        // pgha ctl topology draws node3 under node2.
        var topology = await CtlAsync("topology");
        Assert.That(topology.ExitCode, Is.EqualTo(0), Because("pgha ctl topology: " + topology.Stderr));
        var names = topology.Stdout.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| Member ", StringComparison.Ordinal))
            .Select(l => l.Split('|')[1][1..].TrimEnd()).ToList();
        Assert.That(names, Is.EqualTo(new[] { "node1", "+ node2", "  + node3" }), Because("topology: node2 under the leader, node3 under node2\n" + topology.Stdout));

        // A row written on the leader reaches node3 through node2.
        await Node1.QueryAsync("CREATE TABLE cascade_rows (id int PRIMARY KEY); INSERT INTO cascade_rows VALUES (1)");
        await WaitAsync("the row reaches node3", async () => await CountAsync(Node3) == 1);

        // 2. node2 goes away: node3 falls back to the leader, which now keeps a slot for it.
        Assert.That(await Node2.StopAgentAsync(TimeSpan.FromSeconds(30)), Is.True, Because("node2 stops on SIGTERM"));
        await WaitAsync("node3 streams from the leader once node2 is gone", async () =>
            await StreamsFromAsync(Node1, "node3") && (await SlotsAsync(Node1)).Contains("node3:True", StringComparison.Ordinal));
        await Node1.QueryAsync("INSERT INTO cascade_rows VALUES (2)");
        await WaitAsync("a row written while node2 is down reaches node3", async () => await CountAsync(Node3) == 2);
        Report("node2 stopped: node3 follows the leader directly");

        // node2 comes back: node3 cascades from it again, and the leader drops the slot node3 no longer uses.
        Node2.StartAgent();
        await WaitAsync("node3 cascades from node2 again", async () =>
            await StreamsFromAsync(Node2, "node3") && await SlotsAsync(Node1) == "node2:True");

        // 3. The leader dies (agent and postmaster, kill -9): node2 (nofailover) must never take the lock, node3 does.
        var postmaster = Node1.PostmasterPid();
        Node1.KillAgent();
        Os.Signal(postmaster!.Value, Os.SIGKILL);
        var leaders = new HashSet<string>(StringComparer.Ordinal);
        await WaitAsync("node3 takes over after the leader died", async () =>
        {
            if (await _cluster.DcsLeaderAsync() is { } l) leaders.Add(l);
            return leaders.Contains("node3") && await StreamsFromAsync(Node3, "node2");
        }, pollMilliseconds: 100);
        Assert.That(leaders, Does.Not.Contain("node2"), Because("the nofailover node never held the leader lock"));
        Assert.That(await CountAsync(Node3), Is.EqualTo(2), Because("node3 has every row"));
        var node2Status = await Node2.StatusAsync(_cluster.Http);
        Assert.That(PgHaCluster.Str(node2Status!, "role"), Is.EqualTo("replica"), Because("node2 stays a replica"));
        Report($"leaders seen after node1 died: {string.Join(", ", leaders)}");
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args)
    {
        var config = Path.Combine(_cluster.Root, "patronictl.yml");
        await File.WriteAllTextAsync(config, $"""
            scope: {PgHaCluster.Scope}
            namespace: /service/
            etcd3:
              hosts: {_cluster.Etcd.Endpoint}
            """);
        var (program, prefix) = E2eEnvironment.PgHaCommand;
        var run = await ProcessLauncher.RunAsync(program, [.. prefix, "ctl", "-c", config, .. args], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["HOME"] = _cluster.Root });
        Report($"pgha ctl {string.Join(' ', args)} → exit {run.ExitCode}\n{run.Stdout}");
        return run;
    }

    /// <summary>True when <paramref name="upstream"/>'s pg_stat_replication shows <paramref name="member"/> streaming.</summary>
    private static async Task<bool> StreamsFromAsync(ClusterNode upstream, string member)
    {
        try
        {
            var rows = await upstream.QueryAsync("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'", 2);
            return rows.Any(r => (string?)r[0] == member);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The physical slots of <paramref name="node"/> as <c>name:active</c>, comma-separated, by name.</summary>
    private static async Task<string> SlotsAsync(ClusterNode node)
    {
        try
        {
            var rows = await node.QueryAsync("SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name", 2);
            return string.Join(",", rows.Select(r => $"{r[0]}:{r[1]}"));
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return "(" + ex.Message + ")";
        }
    }

    private static async Task<long> CountAsync(ClusterNode node)
    {
        try
        {
            return await node.ScalarAsync<long>("SELECT count(*) FROM cascade_rows", 2);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return -1;
        }
    }

    private async Task WaitAsync(string what, Func<Task<bool>> condition, int pollMilliseconds = 250)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!await condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > Timeout)
            {
                var states = new List<string>();
                foreach (var n in _cluster.Nodes)
                {
                    var s = await n.StatusAsync(_cluster.Http);
                    states.Add($"{n.Name}: {s?.ToJsonString() ?? "(no answer)"}; slots {await SlotsAsync(n)}");
                }
                Assert.Fail($"{what}: not within {Timeout.TotalSeconds:0} s. DCS leader {await _cluster.DcsLeaderAsync()}; {string.Join(" | ", states)}{_cluster.Diagnostics()}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(pollMilliseconds), TimeProvider.System);
        }
        Report($"{what}: after {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s");
    }
}
