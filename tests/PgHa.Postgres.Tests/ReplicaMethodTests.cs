using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>
/// create_replica_methods (custom commands, fallback, no_leader), custom bootstrap methods and recovery_conf against
/// real PostgreSQL 15 servers. The custom methods are small shell scripts that record their arguments in a marker file.
/// </summary>
public sealed class ReplicaMethodTests : PgTestBase
{
    private const string Bin = PgTestEnvironment.BinDirectory;

    // A custom method's body that parses the arguments Patroni passes and runs pg_basebackup itself.
    private const string BasebackupFromArguments = """
        datadir=""; connstring=""
        for arg in "$@"; do
          case "$arg" in
            --datadir=*) datadir="${arg#--datadir=}" ;;
            --connstring=*) connstring="${arg#--connstring=}" ;;
          esac
        done
        exec BIN/pg_basebackup -D "$datadir" -d "$connstring" -X stream -c fast --no-sync
        """;

    [Test]
    public async Task A_custom_replica_method_gets_its_own_parameters_then_scope_role_datadir_and_connstring()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        a.Execute("CREATE TABLE t AS SELECT generate_series(1, 500) AS x");
        string marker = "";
        var b = Node("node-b", o =>
        {
            // The script parses the arguments Patroni passes and runs pg_basebackup itself.
            var script = Script(o, "clone.sh", m => marker = m, BasebackupFromArguments);
            o.CreateReplicaMethods = [new ReplicaCreationMethod("myclone") { Command = script + " --flavour 'two words'", Parameters = [new("envdir", "/etc/wal-e")] }];
        });

        await b.Controller.CreateReplicaAsync(a.Member, CancellationToken.None);

        var args = File.ReadAllLines(marker);
        Assert.That(args, Is.EqualTo(new[]
        {
            "--flavour", "two words", "--envdir=/etc/wal-e", "--scope=pgha-test", "--role=replica",
            "--datadir=" + b.Options.DataDirectory, $"--connstring=dbname=postgres user=postgres host=127.0.0.1 port={a.Port}",
        }));
        var cloned = await b.StatusAsync();
        Assert.That((cloned.DataDirectory, cloned.IsRunning, cloned.Role), Is.EqualTo((DataDirectoryState.Initialized, false, PostgresRole.Replica)));
        Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == ReplicaMethodEventId.MethodSucceeded && r.Message.Contains("myclone", StringComparison.Ordinal)), Is.True);

        await a.Controller.SyncReplicationSlotsAsync([b.SlotName], CancellationToken.None);
        await b.Controller.FollowAsync(a.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "the replica made by the custom method streams");
        Assert.That(b.Scalar<long>("SELECT count(*) FROM t"), Is.EqualTo(500));
    }

    [Test]
    public async Task A_failing_method_is_cleaned_up_and_the_next_one_basebackup_creates_the_replica()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        string marker = "";
        var b = Node("node-b", o =>
        {
            // Leaves half a data directory behind and fails.
            var script = Script(o, "broken.sh", m => marker = m, """
                for arg in "$@"; do case "$arg" in --datadir=*) d="${arg#--datadir=}" ;; esac; done
                mkdir -p "$d/base" && echo 15 > "$d/PG_VERSION"
                exit 3
                """);
            o.CreateReplicaMethods = [new ReplicaCreationMethod("broken") { Command = script }, ReplicaCreationMethod.Basebackup];
        });

        await b.Controller.CreateReplicaAsync(a.Member, CancellationToken.None);

        Assert.That(File.Exists(marker), Is.True, "the first method ran");
        var cloned = await b.StatusAsync();
        Assert.That((cloned.DataDirectory, cloned.Role, cloned.SystemId), Is.EqualTo((DataDirectoryState.Initialized, PostgresRole.Replica, (await a.StatusAsync()).SystemId)));
        var log = b.Logger.Collector.GetSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(log.Any(r => r.Id.Id == ReplicaMethodEventId.MethodFailed && r.Message.Contains("broken", StringComparison.Ordinal) && r.Message.Contains("code=3", StringComparison.Ordinal)), Is.True);
            Assert.That(log.Any(r => r.Id.Id == PostgresEventId.DataDirectoryRemoved), Is.True, "the broken method's leftovers were removed before pg_basebackup");
            Assert.That(log.Any(r => r.Id.Id == ReplicaMethodEventId.MethodSucceeded && r.Message.Contains("basebackup", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public async Task When_every_method_fails_the_data_directory_is_removed_and_the_call_fails()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        var b = Node("node-b", o =>
        {
            var script = Script(o, "broken.sh", _ => { }, """
                for arg in "$@"; do case "$arg" in --datadir=*) d="${arg#--datadir=}" ;; esac; done
                mkdir -p "$d/global" && echo 15 > "$d/PG_VERSION" && echo junk > "$d/global/pg_control"
                exit 1
                """);
            o.CreateReplicaMethods = [new ReplicaCreationMethod("broken") { Command = script, KeepData = true }];
        });

        var failed = Assert.ThrowsAsync<InvalidOperationException>(() => b.Controller.CreateReplicaAsync(a.Member, CancellationToken.None));
        Assert.That(failed!.Message, Does.Contain("every replica creation method failed (broken)"));
        Assert.That((await b.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Empty), "even a keep_data method's leftovers go when nothing worked");

        var noLeader = Assert.ThrowsAsync<InvalidOperationException>(() => b.Controller.CreateReplicaAsync(null, CancellationToken.None));
        Assert.That(noLeader!.Message, Does.Contain("none is marked no_leader"));
    }

    [Test]
    public async Task Without_a_member_to_clone_from_only_a_no_leader_method_runs_and_restores_a_backup()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        a.Execute("CREATE TABLE t AS SELECT generate_series(1, 42) AS x");
        var backup = await BackUpAndStopAsync(a);

        string marker = "";
        var b = Node("node-b", o =>
        {
            var script = Script(o, "restore.sh", m => marker = m, RestoreFrom(backup));
            o.CreateReplicaMethods = [ReplicaCreationMethod.Basebackup, new ReplicaCreationMethod("restore") { Command = script, NoLeader = true }];
        });

        await b.Controller.CreateReplicaAsync(null, CancellationToken.None);

        Assert.That(File.ReadAllLines(marker), Does.Contain("--connstring="), "no source: an empty connection string, as Patroni passes");
        Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == ReplicaMethodEventId.MethodSkipped && r.Message.Contains("basebackup", StringComparison.Ordinal)), Is.True);
        var restored = await b.StatusAsync();
        Assert.That((restored.DataDirectory, restored.Role, restored.Upstream), Is.EqualTo((DataDirectoryState.Initialized, PostgresRole.Replica, (string?)null)));

        // It starts as a replica with no upstream (the HA loop may then let it win the race and promote it).
        await b.Controller.FollowAsync(null, CancellationToken.None);
        Assert.That(b.Scalar<long>("SELECT count(*) FROM t"), Is.EqualTo(42));
        Assert.That(b.Scalar<bool>("SELECT pg_is_in_recovery()"), Is.True);
    }

    [Test]
    public async Task A_standby_leader_clones_the_remote_with_standby_cluster_create_replica_methods_not_the_local_list()
    {
        var remote = Node("remote-a");
        await remote.StartNewPrimaryAsync();
        remote.Execute("CREATE TABLE t AS SELECT generate_series(1, 300) AS x");
        string marker = "";
        var leader = Node("standby-b", o =>
        {
            var script = Script(o, "restore.sh", m => marker = m, BasebackupFromArguments);
            // The local list (ordinary clones) is basebackup alone; the section below is not in it.
            o.CreateReplicaMethods = [ReplicaCreationMethod.Basebackup];
            o.OtherReplicaMethods = [new ReplicaCreationMethod("restore_backup") { Command = script }];
        });
        var section = new StandbyClusterConfig { Host = "127.0.0.1", Port = remote.Port, CreateReplicaMethods = ["restore_backup", "basebackup"] };

        await leader.Controller.CreateReplicaFromRemoteAsync(section, CancellationToken.None);

        Assert.That(File.Exists(marker), Is.True, "the standby cluster's first method ran");
        Assert.That(File.ReadAllLines(marker), Does.Contain($"--connstring=dbname=postgres user=postgres host=127.0.0.1 port={remote.Port}"), "its connection string names the remote");
        var log = leader.Logger.Collector.GetSnapshot();
        Assert.That(log.Any(r => r.Id.Id == ReplicaMethodEventId.MethodSucceeded && r.Message.Contains("restore_backup", StringComparison.Ordinal)), Is.True);
        Assert.That(log.Any(r => r.Id.Id == PostgresEventId.CloneStarted), Is.False, "pg_basebackup of the controller itself did not run");
        var cloned = await leader.StatusAsync();
        Assert.That((cloned.DataDirectory, cloned.Role, cloned.SystemId),
            Is.EqualTo((DataDirectoryState.Initialized, PostgresRole.Replica, (await remote.StatusAsync()).SystemId)));

        await leader.Controller.FollowRemotePrimaryAsync(section, CancellationToken.None);
        remote.Execute("INSERT INTO t VALUES (301)");
        Assert.That(await PgNode.WaitUntilAsync(() => leader.Scalar<long>("SELECT count(*) FROM t") == 301, TimeSpan.FromSeconds(20)), Is.True, "the standby leader streams from the remote");
        Assert.That((await leader.StatusAsync()).Upstream, Is.EqualTo(section.UpstreamName));
    }

    [Test]
    public async Task A_standby_cluster_fed_only_by_restore_command_is_seeded_by_its_no_leader_method()
    {
        var a = Node("remote-a");
        await a.StartNewPrimaryAsync();
        a.Execute("CREATE TABLE t AS SELECT generate_series(1, 17) AS x");
        var backup = await BackUpAndStopAsync(a);

        string marker = "";
        var b = Node("standby-b", o =>
        {
            var script = Script(o, "restore.sh", m => marker = m, RestoreFrom(backup));
            o.OtherReplicaMethods = [new ReplicaCreationMethod("restore_backup") { Command = script, NoLeader = true }];
        });
        var archiveOnly = new StandbyClusterConfig { RestoreCommand = "false", CreateReplicaMethods = ["basebackup", "restore_backup"] };

        await b.Controller.CreateReplicaFromRemoteAsync(archiveOnly, CancellationToken.None);

        Assert.That(File.ReadAllLines(marker), Does.Contain("--connstring="), "no host: an empty connection string");
        Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == ReplicaMethodEventId.MethodSkipped && r.Message.Contains("basebackup", StringComparison.Ordinal)), Is.True);
        await b.Controller.FollowRemotePrimaryAsync(archiveOnly, CancellationToken.None);
        Assert.That(b.Scalar<long>("SELECT count(*) FROM t"), Is.EqualTo(17));
        Assert.That((b.Scalar<string>("SHOW restore_command"), b.Scalar<string>("SHOW primary_conninfo")), Is.EqualTo(("false", "")));

        // Without a no_leader method such a section cannot be cloned: a clear refusal, the data directory untouched.
        var c = Node("standby-c");
        var refused = Assert.ThrowsAsync<InvalidOperationException>(() => c.Controller.CreateReplicaFromRemoteAsync(archiveOnly with { CreateReplicaMethods = ["basebackup"] }, CancellationToken.None));
        Assert.That(refused!.Message, Does.Contain("none of its create_replica_methods is marked no_leader"));
    }

    [Test]
    public async Task A_custom_bootstrap_method_runs_instead_of_initdb_and_the_result_starts_as_the_primary()
    {
        string marker = "";
        string postBootstrapMarker = "";
        var node = Node("node-a", o =>
        {
            var script = Script(o, "bootstrap.sh", m => marker = m, """
                for arg in "$@"; do case "$arg" in --datadir=*) d="${arg#--datadir=}" ;; esac; done
                exec BIN/initdb -D "$d" -U postgres --auth=trust --no-sync --no-instructions >/dev/null
                """);
            o.BootstrapMethod = new CustomBootstrapMethod("from_script", script + " --first") { Parameters = [new("label", "nightly")] };
            o.PostBootstrap = Script(o, "post.sh", m => postBootstrapMarker = m, "true");
        });

        await node.Controller.BootstrapAsync(CancellationToken.None);
        Assert.That(File.ReadAllLines(marker), Is.EqualTo(new[] { "--first", "--label=nightly", "--scope=pgha-test", "--datadir=" + node.Options.DataDirectory }));
        var stopped = await node.StatusAsync();
        Assert.That((stopped.DataDirectory, stopped.IsRunning, stopped.Role), Is.EqualTo((DataDirectoryState.Initialized, false, PostgresRole.Primary)));
        Assert.That(node.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.Bootstrapping), Is.False, "initdb itself was not run by the controller");

        await node.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        Assert.That((await node.StatusAsync()).IsRunningPrimary, Is.True);
        Assert.That(node.Scalar<string>("SHOW cluster_name"), Is.EqualTo("pgha-test"), "PgHa's configuration was written over the script's");
        Assert.That(File.Exists(postBootstrapMarker), Is.True, "post_bootstrap ran after the first start");
    }

    [Test]
    public async Task A_failing_custom_bootstrap_leaves_an_empty_data_directory_and_fails()
    {
        var node = Node("node-a", o =>
        {
            var script = Script(o, "bootstrap.sh", _ => { }, """
                for arg in "$@"; do case "$arg" in --datadir=*) d="${arg#--datadir=}" ;; esac; done
                echo 15 > "$d/PG_VERSION"; echo "restore failed" >&2; exit 2
                """);
            o.BootstrapMethod = new CustomBootstrapMethod("restore", script) { NoParams = false };
        });
        var failed = Assert.ThrowsAsync<InvalidOperationException>(() => node.Controller.BootstrapAsync(CancellationToken.None));
        Assert.That(failed!.Message, Does.Contain("custom bootstrap method restore").And.Contain("restore failed"));
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Empty));
    }

    [Test]
    public async Task A_custom_bootstrap_with_recovery_conf_replays_the_archive_and_starts_as_a_primary_on_a_new_timeline()
    {
        var archive = "";
        var a = Node("node-a", o =>
        {
            archive = Path.Combine(Path.GetDirectoryName(o.DataDirectory)!, "archive");
            Directory.CreateDirectory(archive);
            o.Parameters["archive_mode"] = "on";
            o.Parameters["archive_command"] = $"cp %p {archive}/%f";
        });
        await a.StartNewPrimaryAsync();
        var backup = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(a.Options.DataDirectory))!, "backup");
        PgTestEnvironment.Run(Path.Combine(Bin, "pg_basebackup"), "-D", backup, "-h", "127.0.0.1", "-p", a.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-X", "none", "-c", "fast", "--no-sync");
        // Written after the backup: only the archive has it.
        a.Execute("CREATE TABLE after_backup AS SELECT generate_series(1, 7) AS x");
        var segment = a.Scalar<string>("SELECT pg_walfile_name(pg_switch_wal())")!;
        Assert.That(await PgNode.WaitUntilAsync(() => File.Exists(Path.Combine(archive, segment)), TimeSpan.FromSeconds(20)), Is.True, "WAL archived");
        await a.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);

        var b = Node("node-b", o =>
        {
            var script = Script(o, "restore.sh", _ => { }, RestoreFrom(backup));
            o.BootstrapMethod = new CustomBootstrapMethod("pitr", script)
            {
                RecoveryConf = [new("restore_command", $"cp {archive}/%f %p"), new("recovery_target_timeline", "current")],
            };
        });
        await b.Controller.BootstrapAsync(CancellationToken.None);
        Assert.That(File.Exists(Path.Combine(b.Options.DataDirectory, "recovery.signal")), Is.True);
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.StartPrimaryAsync(CancellationToken.None);

        var primary = await b.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(primary.IsRunningPrimary, Is.True);
            Assert.That(primary.Timeline, Is.EqualTo(2), "the end of the archive recovery starts a new timeline");
            Assert.That(b.Scalar<long>("SELECT count(*) FROM after_backup"), Is.EqualTo(7), "restore_command replayed the archive");
            // Whether the start saw the recovery still running (and logged the wait) depends on timing; the cleanup does not.
            Assert.That(File.ReadAllText(Path.Combine(b.Options.DataDirectory, "postgresql.conf")), Does.Not.Contain("restore_command"), "the bootstrap's recovery settings are gone");
        });
    }

    [Test]
    public async Task Recovery_conf_is_passed_through_to_a_replica_next_to_primary_conninfo()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        var b = Node("node-b", o =>
        {
            o.RecoveryConf["restore_command"] = "cp /nonexistent/%f %p";
            o.RecoveryConf["recovery_min_apply_delay"] = "0";
        });
        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        Assert.That(b.Scalar<string>("SHOW restore_command"), Is.EqualTo("cp /nonexistent/%f %p"));
        Assert.That(b.Scalar<string>("SHOW primary_conninfo"), Does.Contain("application_name=node-b"));
    }

    /// <summary>An executable script in the node's directory that records its arguments (one per line) in a marker file.</summary>
    /// <summary>A plain base backup of <paramref name="a"/> next to its data directory; then <paramref name="a"/> stops.</summary>
    private static async Task<string> BackUpAndStopAsync(PgNode a)
    {
        var backup = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(a.Options.DataDirectory))!, "backup");
        PgTestEnvironment.Run(Path.Combine(Bin, "pg_basebackup"), "-D", backup, "-h", "127.0.0.1", "-p", a.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-X", "stream", "-c", "fast", "--no-sync");
        await a.Controller.StopForDemoteAsync(DemoteMode.Immediate, CancellationToken.None);
        return backup;
    }

    /// <summary>A custom method's body that copies <paramref name="backup"/> into the <c>--datadir</c> it is given.</summary>
    private static string RestoreFrom(string backup) => $$"""
        for arg in "$@"; do case "$arg" in --datadir=*) d="${arg#--datadir=}" ;; esac; done
        cp -a '{{backup}}/.' "$d/"
        """;

    private static string Script(PostgresControllerOptions o, string name, Action<string> marker, string body)
    {
        var dir = Path.GetDirectoryName(o.DataDirectory)!;
        var path = Path.Combine(dir, name);
        var markerPath = path + ".args";
        marker(markerPath);
        File.WriteAllText(path, $"#!/bin/bash\nset -e\nprintf '%s\\n' \"$@\" > '{markerPath}'\n{body.Replace("BIN/", Bin + "/", StringComparison.Ordinal)}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
