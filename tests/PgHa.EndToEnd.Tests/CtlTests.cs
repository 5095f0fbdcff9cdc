using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// <c>pgha ctl</c> operating a real three-node cluster (etcd, PostgreSQL) through a patronictl-style configuration that
/// has only <c>scope</c> and the DCS section: list, switchover (the named candidate becomes the leader), history,
/// pause/resume with <c>--wait</c>, edit-config <c>-s</c>/<c>-p</c> then show-config, and a restart of a replica.
/// One cluster for the whole fixture, the steps in order in one test.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class CtlTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;
    private string _config = null!;

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
        _cluster = await PgHaCluster.StartAsync();
        try
        {
            await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap");
            _config = Path.Combine(_cluster.Root, "patronictl.yml");
            await File.WriteAllTextAsync(_config, $"""
                scope: {PgHaCluster.Scope}
                namespace: /service/
                etcd3:
                  hosts: {_cluster.Etcd.Endpoint}
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

    private async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args)
    {
        var (program, prefix) = E2eEnvironment.PgHaCommand;
        var run = await ProcessLauncher.RunAsync(program, [.. prefix, "ctl", "-c", _config, .. args], TimeSpan.FromSeconds(90),
            new Dictionary<string, string> { ["HOME"] = _cluster.Root });
        Report($"pgha ctl {string.Join(' ', args)} → exit {run.ExitCode}\n{run.Stdout}{(run.Stderr.Length > 0 ? "stderr: " + run.Stderr : "")}");
        return run;
    }

    /// <summary>The member rows of a table: cells trimmed, header and borders left out.</summary>
    private static List<string[]> Rows(string output) =>
    [
        .. output.Split('\n')
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| Member ", StringComparison.Ordinal) && !l.StartsWith("| TL ", StringComparison.Ordinal))
            .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray()),
    ];

    [Test]
    public async Task ListSwitchoverHistoryPauseResumeEditConfigAndRestartWorkOnARealCluster()
    {
        var health = await _cluster.WaitForHealthyAsync(HealTimeout, "before pgha ctl");
        var oldLeader = health.Leader;
        var candidate = health.Replicas[0];

        // list: one leader and two replicas, as the DCS says. Members publish their WAL position every loop_wait, and the
        // leader refuses a candidate whose published position lags: wait (up to 30 s) until list shows lag 0.
        var started = TimeProvider.System.GetTimestamp();
        (int ExitCode, string Stdout, string Stderr) list;
        List<string[]> rows;
        while (true)
        {
            list = await CtlAsync("list");
            rows = Rows(list.Stdout);
            if (list.ExitCode == 0 && rows.Count == 3 && rows.Where(r => r[2] == "Replica").All(r => r[5] == "0")) break;
            if (TimeProvider.System.GetElapsedTime(started) > TimeSpan.FromSeconds(30)) break;
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        }
        Assert.That(list.ExitCode, Is.Zero, Because($"list exits 0: {list.Stderr}"));
        Assert.That(rows.Select(r => (r[0], r[2], r[5])), Is.EquivalentTo(_cluster.Nodes.Select(n => (n.Name, n == oldLeader ? "Leader" : "Replica", n == oldLeader ? "" : "0"))),
            Because($"list shows {oldLeader.Name} as Leader and the others as Replica with no lag:\n{list.Stdout}"));

        // switchover to a named candidate, without questions: the candidate holds the lock afterwards.
        // Right after bootstrap the leader may still judge the candidate behind (the clone's WAL switch is not replayed
        // yet, and the member keys above are up to loop_wait old): it then answers 503, as Patroni does. Ask again, a few times.
        var switchover = await CtlAsync("switchover", "--leader", oldLeader.Name, "--candidate", candidate.Name, "--force");
        for (var attempt = 1; attempt < 4 && switchover.ExitCode != 0 && (switchover.Stdout + switchover.Stderr).Contains("Switchover failed", StringComparison.Ordinal); attempt++)
        {
            TestContext.Progress.WriteLine($"switchover refused (attempt {attempt}): {(switchover.Stdout + switchover.Stderr).Trim()}");
            await Task.Delay(PgHaCluster.LoopWait, TimeProvider.System);
            switchover = await CtlAsync("switchover", "--leader", oldLeader.Name, "--candidate", candidate.Name, "--force");
        }
        Assert.That(switchover.ExitCode, Is.Zero, Because($"switchover exits 0: {switchover.Stderr}"));
        Assert.That(switchover.Stdout, Does.Contain($"Successfully switched over to \"{candidate.Name}\""), Because($"the leader reports success:\n{switchover.Stdout}"));
        var after = await _cluster.WaitForHealthyAsync(HealTimeout, "after pgha ctl switchover");
        Assert.That(after.Leader.Name, Is.EqualTo(candidate.Name), Because($"{candidate.Name} leads after the switchover"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(candidate.Name));

        // history: the switchover ended a timeline and names the new leader.
        var history = await CtlAsync("history", "-f", "json");
        Assert.That(history.ExitCode, Is.Zero, Because($"history exits 0: {history.Stderr}"));
        var lines = JsonNode.Parse(history.Stdout)!.AsArray();
        Assert.That(lines.Select(l => (string?)l!["New Leader"]), Does.Contain(candidate.Name), Because($"history has a line for the switchover to {candidate.Name}:\n{history.Stdout}"));
        var table = await CtlAsync("history");
        Assert.That(Rows(table.Stdout).Select(r => r[4]), Does.Contain(candidate.Name), Because($"the history table shows the new leader:\n{table.Stdout}"));

        // pause --wait: every member reports the pause; list says so. resume --wait: cleared everywhere.
        var pause = await CtlAsync("pause", "--wait");
        Assert.That((pause.ExitCode, pause.Stdout), Is.EqualTo((0, "'pause' request sent, waiting until it is recognized by all nodes\nSuccess: cluster management is paused\n")),
            Because($"pause --wait succeeds: {pause.Stderr}"));
        var paused = await CtlAsync("list");
        Assert.That(paused.Stdout, Does.EndWith(" Maintenance mode: on\n"), Because("list shows the maintenance mode"));
        var again = await CtlAsync("pause");
        Assert.That((again.ExitCode, again.Stderr.Trim()), Is.EqualTo((1, "Error: Cluster is already paused")));
        var resume = await CtlAsync("resume", "--wait");
        Assert.That((resume.ExitCode, resume.Stdout), Is.EqualTo((0, "'resume' request sent, waiting until it is recognized by all nodes\nSuccess: cluster management is resumed\n")),
            Because($"resume --wait succeeds: {resume.Stderr}"));

        // edit-config -s / -p: written to the DCS with CAS, visible in show-config and in every member's GET /config.
        var edit = await CtlAsync("edit-config", "-s", "maximum_lag_on_failover=2097152", "-p", "work_mem=8MB", "--force");
        Assert.That(edit.ExitCode, Is.Zero, Because($"edit-config exits 0: {edit.Stderr}"));
        Assert.That(edit.Stdout, Does.Contain("-maximum_lag_on_failover: 1048576\n+maximum_lag_on_failover: 2097152\n").And.Contain("+    work_mem: 8MB\n").And.EndWith("Configuration changed\n"));
        var show = await CtlAsync("show-config");
        Assert.That(show.Stdout, Does.Contain("maximum_lag_on_failover: 2097152\n").And.Contain("    work_mem: 8MB\n"), Because("show-config shows the change"));
        var config = JsonNode.Parse(await _cluster.Http.GetStringAsync($"{after.Leader.RestUrl}/config"))!;
        Assert.That((long?)config["maximum_lag_on_failover"], Is.EqualTo(2097152), Because($"GET /config serves the new value: {config.ToJsonString()}"));

        // restart a replica without questions: the member restarts PostgreSQL and the cluster heals.
        var replica = after.Replicas[0];
        var restart = await CtlAsync("restart", PgHaCluster.Scope, replica.Name, "--force");
        Assert.That((restart.ExitCode, restart.Stdout.Split('\n')[^2]), Is.EqualTo((0, $"Success: restart on member {replica.Name}")),
            Because($"restart succeeds: {restart.Stdout}\n{restart.Stderr}"));
        var healed = await _cluster.WaitForHealthyAsync(HealTimeout, "after pgha ctl restart");
        Assert.That(healed.Leader.Name, Is.EqualTo(candidate.Name), Because("restarting a replica does not move the leader"));
    }
}
