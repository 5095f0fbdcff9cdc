using System.Globalization;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// <c>create_replica_methods: [restore_backup, basebackup]</c> on a real cluster (etcd + three <c>pgha run</c>, ttl 10,
/// loop_wait 2). <c>restore_backup</c> (marked <c>no_leader</c>) is a shell script the test writes: it copies a base
/// backup the test took from the leader into the data directory and leaves a marker file there, or exits 1 while there is
/// no backup. node3 is tagged <c>nofailover</c> so a node restored from an old backup never takes the lock.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class ReplicaMethodClusterTests
{
    private const string MarkerFile = "pgha_e2e_restored";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;
    private string _backup = "";
    private string _restoreLog = "";

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(string message) => () => message + $"\n==== {_restoreLog} ====\n{ReadRestoreLog()}" + _cluster.Diagnostics(60);

    private ClusterNode Node3 => _cluster.Node("node3");

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        _cluster = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]), (node, yaml) =>
        {
            var root = Path.GetDirectoryName(node.Dir)!;
            var script = WriteRestoreScript(root);
            yaml += $"""

                  create_replica_methods:
                  - restore_backup
                  - basebackup
                  restore_backup:
                    command: {script} --label e2e
                    no_leader: true

                """;
            return node.Name == "node3" ? yaml + "tags:\n  nofailover: true\n" : yaml;
        });
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    /// <summary>
    /// The custom method: with no backup yet it fails (exit 1); otherwise it copies the backup into <c>--datadir</c> and
    /// writes a marker there naming the connection string it was given (empty: created without a leader).
    /// </summary>
    private string WriteRestoreScript(string root)
    {
        _backup = Path.Combine(root, "backup");
        _restoreLog = Path.Combine(root, "restore_backup.log");
        var path = Path.Combine(root, "restore_backup.sh");
        if (File.Exists(path)) return path;
        File.WriteAllText(path, $$"""
            #!/bin/bash
            set -u
            datadir=""; connstring="(none)"
            for arg in "$@"; do
              case "$arg" in
                --datadir=*) datadir="${arg#--datadir=}" ;;
                --connstring=*) connstring="${arg#--connstring=}" ;;
              esac
            done
            node="$(basename "$(dirname "$datadir")")"
            if [ ! -f '{{_backup}}/PG_VERSION' ]; then
              echo "$node: failed, no base backup yet (args: $*)" >> '{{_restoreLog}}'
              echo "no base backup in {{_backup}}" >&2
              exit 1
            fi
            cp -a '{{_backup}}/.' "$datadir/" || exit 1
            echo "restored by restore_backup; connstring=[$connstring]" > "$datadir/{{MarkerFile}}"
            echo "$node: restored; connstring=[$connstring]" >> '{{_restoreLog}}'

            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Test]
    public async Task A_failing_restore_falls_back_to_basebackup_a_no_leader_restore_catches_up_from_the_returning_leader_and_a_restore_wins_with_a_leader()
    {
        // 1. No backup exists while the cluster starts: restore_backup exits 1 on both replicas, basebackup creates them.
        var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap with restore_backup failing");
        var leader = health.Leader;
        Assert.That(leader, Is.Not.EqualTo(Node3), Because("the nofailover node never bootstraps"));
        var log = ReadRestoreLog();
        foreach (var replica in health.Replicas)
        {
            Assert.That(log, Does.Contain($"{replica.Name}: failed, no base backup yet"), Because($"restore_backup ran first on {replica.Name} and failed"));
            Assert.That(File.Exists(Path.Combine(replica.DataDir, MarkerFile)), Is.False, Because($"{replica.Name} was made by basebackup"));
            Assert.That(await File.ReadAllTextAsync(replica.LogPath), Does.Contain("error creating replica using method restore_backup").And.Contain("replica has been created using basebackup"),
                Because($"{replica.Name}'s agent logged the fallback"));
        }
        Assert.That(log, Does.Contain("--label e2e").And.Contain("--role=replica").And.Contain($"--connstring=dbname=postgres user=replicator host=127.0.0.1 port={leader.PgPort}"),
            Because("with a leader the method gets its own arguments and a connection string to it"));
        Report($"leader {leader.Name}; replicas {string.Join(", ", health.Replicas)} fell back to basebackup");

        // 2. A base backup of the leader, then writes the backup does not have.
        await leader.QueryAsync("CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        var backup = await ProcessLauncher.RunAsync(Path.Combine(E2eEnvironment.PgBinDirectory, "pg_basebackup"),
            ["-D", _backup, "-Fp", "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", leader.PgPort.ToString(CultureInfo.InvariantCulture), "-U", "replicator", "--no-password"],
            TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["PGPASSWORD"] = "replicator-secret" });
        Assert.That(backup.ExitCode, Is.EqualTo(0), Because("pg_basebackup of the leader: " + backup.Stderr));
        await using (var writer = new Writer(_cluster, firstId: 1))
        {
            writer.Start();
            var until = TimeProvider.System.GetTimestamp();
            Assert.That(await writer.WaitForAckAfterAsync(until, Timeout), Is.True, Because("the writer writes after the backup"));
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
            await writer.StopAsync();
            Assert.That(writer.Acks, Is.Not.Empty);

            // 3. The whole cluster stops and node3 loses its data: with no leader, only the no_leader method may run.
            await Task.WhenAll(_cluster.Nodes.Select(n => n.StopAgentAsync(TimeSpan.FromSeconds(30))));
            Assert.That(await _cluster.DcsLeaderAsync(), Is.Null, Because("the stopped leader released the lock"));
            Directory.Delete(Node3.DataDir, recursive: true);
            Node3.StartAgent();
            await WaitAsync("node3 is restored from the backup without a leader and runs as a replica", async () =>
                File.Exists(Path.Combine(Node3.DataDir, MarkerFile)) && await Node3.StatusAsync(_cluster.Http) is { } s
                && PgHaCluster.Str(s, "role") == "replica" && PgHaCluster.Str(s, "state") == "running");
            Assert.That(await File.ReadAllTextAsync(Path.Combine(Node3.DataDir, MarkerFile)), Does.Contain("connstring=[]"),
                Because("without a leader the method gets an empty connection string"));
            Assert.That(await CountAsync(Node3), Is.EqualTo(0), Because("node3 has only what the backup had"));
            Assert.That(await _cluster.DcsLeaderAsync(), Is.Null, Because("the restored nofailover node does not take the lock"));

            // 4. The old leader comes back, then the other node: node3 streams from the leader and gets every acknowledged row.
            leader.StartAgent();
            await WaitAsync($"{leader.Name} leads again", async () => await _cluster.DcsLeaderAsync() == leader.Name);
            foreach (var n in _cluster.Nodes.Where(n => !n.IsAgentRunning)) n.StartAgent();
            var healed = await _cluster.WaitForHealthyAsync(Timeout, "the cluster with the restored node3");
            Assert.That(healed.Replicas, Does.Contain(Node3), Because("node3 streams from the leader"));
            var upstream = await Node3.ScalarAsync<string>("SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver");
            Assert.That(upstream, Is.EqualTo($"127.0.0.1:{healed.Leader.PgPort}"), Because("node3's WAL receiver is connected to the leader"));
            Assert.That(File.Exists(Path.Combine(Node3.DataDir, MarkerFile)), Is.True, Because("node3 still runs on the restored data directory"));
            Assert.That(await WaitAsyncBool(async () => (await writer.MissingOnAsync(Node3)).Count == 0), Is.True,
                Because($"every acknowledged row ({writer.Acks.Count}) written after the backup reaches node3"));
            Report($"node3 restored without a leader; {writer.Acks.Count} rows written after the backup arrived by streaming from {healed.Leader.Name}");

            // 5. With a leader, the first method still wins over basebackup: node3 loses its data again while rows are written.
            await using var second = new Writer(_cluster, firstId: 1_000_000);
            Assert.That(await Node3.StopAgentAsync(TimeSpan.FromSeconds(30)), Is.True, Because("node3 stops on SIGTERM"));
            Directory.Delete(Node3.DataDir, recursive: true);
            second.Start();
            Node3.StartAgent();
            await WaitAsync("node3 is restored from the backup again, with the leader running", async () =>
                File.Exists(Path.Combine(Node3.DataDir, MarkerFile)) && await _cluster.ObserveAsync() is { Health: { } h } && h.Replicas.Contains(Node3));
            await second.StopAsync();
            var marker = await File.ReadAllTextAsync(Path.Combine(Node3.DataDir, MarkerFile));
            Assert.That(marker, Does.Contain($"connstring=[dbname=postgres user=replicator host=127.0.0.1 port={healed.Leader.PgPort}]"),
                Because("with a leader, restore_backup gets a connection string to it"));
            Assert.That(await WaitAsyncBool(async () => (await writer.MissingOnAsync(Node3)).Count == 0 && (await second.MissingOnAsync(Node3)).Count == 0), Is.True,
                Because($"the rows of both writers ({writer.Acks.Count} + {second.Acks.Count}) reach node3"));
            Report($"node3 restored with the leader running; {second.Acks.Count} more rows arrived");
        }
    }

    private string ReadRestoreLog() => File.Exists(_restoreLog) ? File.ReadAllText(_restoreLog) : "(no restore_backup run yet)";

    private static async Task<long> CountAsync(ClusterNode node)
    {
        try
        {
            return await node.ScalarAsync<long>("SELECT count(*) FROM e2e_writes", 2);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return -1;
        }
    }

    private static async Task<bool> WaitAsyncBool(Func<Task<bool>> condition)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < Timeout)
        {
            try
            {
                if (await condition()) return true;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException) { }
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        return false;
    }

    private async Task WaitAsync(string what, Func<Task<bool>> condition)
    {
        var started = TimeProvider.System.GetTimestamp();
        if (!await WaitAsyncBool(condition))
            Assert.Fail($"{what}: not within {Timeout.TotalSeconds:0} s. DCS leader {await _cluster.DcsLeaderAsync()}\n==== {_restoreLog} ====\n{ReadRestoreLog()}{_cluster.Diagnostics(60)}");
        Report($"{what}: after {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s");
    }
}
