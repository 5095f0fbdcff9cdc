using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>The controller's pure parts: no PostgreSQL needed.</summary>
public sealed class RewindCheckTests
{
    private static readonly IReadOnlyList<TimelineHistoryEntry> Tl3History =
    [
        new(1, 0x3000100, "no recovery target specified"),
        new(2, 0x5000000, "no recovery target specified"),
    ];

    [TestCase(2, 0x9000000, true, 2, ExpectedResult = "NotNeeded", TestName = "same timeline: follow")]
    [TestCase(3, 0x1000000, true, 2, ExpectedResult = "Needed", TestName = "local timeline ahead of the upstream: diverged")]
    [TestCase(1, 0x3000100, true, 3, ExpectedResult = "NotNeeded", TestName = "replica replayed exactly to the fork point")]
    [TestCase(1, 0x3000101, true, 3, ExpectedResult = "Needed", TestName = "replica replayed past the fork point")]
    [TestCase(2, 0x5000000, true, 3, ExpectedResult = "NotNeeded", TestName = "replica that replayed timeline 2 up to its fork point (the uninvolved replica of a second switchover)")]
    [TestCase(1, 0x5000000, true, 3, ExpectedResult = "Needed", TestName = "the same replica judged on its timeline-1 restartpoint looks diverged")]
    [TestCase(2, 0x4000000, false, 3, ExpectedResult = "AskPgRewind", TestName = "former primary stopped before the fork point: pg_rewind decides")]
    [TestCase(2, 0x5000000, false, 3, ExpectedResult = "Needed", TestName = "former primary at or past the fork point")]
    public string Decide(int localTl, long localLsn, bool inRecovery, int upstreamTl) =>
        RewindCheck.Decide(localTl, localLsn, inRecovery, upstreamTl, upstreamTl == 3 ? Tl3History : []).ToString();

    [Test]
    public void A_timeline_missing_from_the_upstream_history_branched_elsewhere()
    {
        IReadOnlyList<TimelineHistoryEntry> history = [new(1, 0x3000000, ""), new(3, 0x6000000, "")];
        Assert.That(RewindCheck.Decide(2, 0x4000000, true, 4, history), Is.EqualTo(RewindNeed.Needed));
        Assert.That(RewindCheck.Assess(2, 0x4000000, true, 4, history).Reason, Is.EqualTo("the upstream's history goes through timeline 3 but not through 2"));
        Assert.That(RewindCheck.Assess(5, 0x4000000, true, 4, history).Reason, Is.EqualTo("local timeline 5 is newer than the upstream's 4"));
        Assert.That(RewindCheck.Assess(4, 0x4000000, true, 7, history).Reason, Is.EqualTo("timeline 4 is not in the history of the upstream's timeline 7"));
    }

    // The reasons the log gives for each decision.
    [TestCase(3, 0x9000000, true, "same timeline 3 as the upstream")]
    [TestCase(1, 0x3000100, true, "replayed up to 0/3000100, not past the fork point 0/3000100 where the upstream's history leaves timeline 1")]
    [TestCase(1, 0x3000101, true, "replayed up to 0/3000101, past the fork point 0/3000100 where the upstream's history leaves timeline 1")]
    [TestCase(2, 0x4000000, false, "shut down at checkpoint 0/4000000, before the fork point 0/5000000 where the upstream's history leaves timeline 2")]
    [TestCase(2, 0x5000000, false, "shut down at checkpoint 0/5000000, at or past the fork point 0/5000000 where the upstream's history leaves timeline 2")]
    public void Assess_says_why(int localTl, long localLsn, bool inRecovery, string reason) =>
        Assert.That(RewindCheck.Assess(localTl, localLsn, inRecovery, 3, Tl3History).Reason, Is.EqualTo(reason));

    // A standby upstream (a leader whose promotion is still running, a cascading source) at 0/5000000 on its replay timeline.
    [TestCase(2, 0x4FFFF00, true, 2, ExpectedResult = "NotNeeded", TestName = "standby upstream ahead on the same timeline: it forks at or after its WAL end")]
    [TestCase(2, 0x5000000, true, 2, ExpectedResult = "NotNeeded", TestName = "standby upstream exactly as far on the same timeline")]
    [TestCase(2, 0x5000001, true, 2, ExpectedResult = "Undecided", TestName = "standby upstream behind on the same timeline: a promotion could fork before the local WAL end")]
    [TestCase(2, 0x5000000, false, 2, ExpectedResult = "Undecided", TestName = "standby upstream not past a stopped former primary's shutdown checkpoint")]
    [TestCase(2, 0x4000000, false, 2, ExpectedResult = "NotNeeded", TestName = "standby upstream past a stopped former primary's shutdown checkpoint")]
    [TestCase(3, 0x1000000, true, 2, ExpectedResult = "Undecided", TestName = "standby upstream still on an older timeline: not judged")]
    [TestCase(1, 0x3000100, true, 3, ExpectedResult = "NotNeeded", TestName = "standby upstream on a newer timeline: its history decides")]
    [TestCase(1, 0x3000101, true, 3, ExpectedResult = "Needed", TestName = "standby upstream on a newer timeline whose history forked before the local WAL end")]
    public string Decide_against_a_standby(int localTl, long localLsn, bool inRecovery, int upstreamTl) =>
        RewindCheck.Decide(localTl, localLsn, inRecovery, upstreamTl, upstreamTl == 3 ? Tl3History : [], upstreamStandbyLsn: 0x5000000).ToString();

    [Test]
    public void A_standby_upstreams_unreadable_history_leaves_it_undecided()
    {
        var verdict = RewindCheck.Assess(1, 0x3000000, true, 3, null, upstreamStandbyLsn: 0x6000000);
        Assert.That(verdict, Is.EqualTo(new RewindVerdict(RewindNeed.Undecided, "the history of the upstream standby's timeline 3 could not be read")));
        Assert.That(RewindCheck.Assess(2, 0x5000001, true, 2, [], upstreamStandbyLsn: 0x5000000).Reason,
            Is.EqualTo("the upstream standby's WAL on timeline 2 goes to 0/5000000, behind the local 0/5000001; a promotion now would fork before it"));
    }

    // Which timeline a running replica is judged on: IDENTIFY_SYSTEM's, else the streaming receiver's, else the restartpoint's.
    [TestCase(3, 3, 1, ExpectedResult = "3 IdentifySystem", TestName = "IDENTIFY_SYSTEM answered")]
    [TestCase(3, null, 1, ExpectedResult = "3 IdentifySystem", TestName = "IDENTIFY_SYSTEM answered while no WAL receiver streams (the switchover case)")]
    [TestCase(2, 3, 1, ExpectedResult = "2 IdentifySystem", TestName = "IDENTIFY_SYSTEM's replay timeline wins over a receiver already on the next one")]
    [TestCase(null, 3, 1, ExpectedResult = "3 WalReceiver", TestName = "no replication connection, streaming: the receiver's timeline")]
    [TestCase(null, null, 1, ExpectedResult = "1 Restartpoint", TestName = "no replication connection, no receiver: the last restartpoint's")]
    [TestCase(0, 0, 2, ExpectedResult = "2 Restartpoint", TestName = "zero means unknown")]
    public string Running_replica_timeline(int? identified, int? streaming, int restartpoint)
    {
        var (timeline, source) = RewindCheck.RunningReplicaTimeline(identified, streaming, restartpoint);
        return $"{timeline} {source}";
    }
}

public sealed class ParsingTests
{
    [Test]
    public void PgControlData_fields_role_and_position()
    {
        const string output = """
            pg_control version number:            1300
            Database system identifier:           7301234567890123456
            Database cluster state:               shut down in recovery
            Latest checkpoint location:           0/5000060
            Latest checkpoint's TimeLineID:       2
            Minimum recovery ending location:     0/6000148
            Min recovery ending loc's timeline:   3
            """;
        var c = PgControlData.Parse(output);
        Assert.Multiple(() =>
        {
            Assert.That(c.SystemId, Is.EqualTo("7301234567890123456"));
            Assert.That(c.Role, Is.EqualTo(PostgresRole.Replica));
            Assert.That(c.IsCleanShutdown, Is.True);
            Assert.That(c.LocalPosition, Is.EqualTo((3, 0x6000148L)));
        });
        var primary = PgControlData.Parse(output.Replace("shut down in recovery", "in production", StringComparison.Ordinal));
        Assert.That((primary.Role, primary.LocalPosition), Is.EqualTo((PostgresRole.Primary, (2, 0x5000060L))));
        Assert.That(PgControlData.Parse("Database cluster state: starting up").Role, Is.EqualTo(PostgresRole.Unknown));
    }

    [Test]
    public void Lsn_round_trip()
    {
        Assert.That(Lsn.TryParse("16/B374D848", out var v), Is.True);
        Assert.That(v, Is.EqualTo(0x16B374D848L));
        Assert.That(Lsn.Format(v), Is.EqualTo("16/B374D848"));
        Assert.That(Lsn.TryParse("garbage", out _), Is.False);
    }

    [Test]
    public void Timeline_history_file()
    {
        var entries = TimelineHistoryFile.Parse("1\t0/3000060\tno recovery target specified\n\n# comment\n2\t0/5000000\tbefore 2024-01-01\nbad line\n");
        Assert.That(entries, Is.EqualTo(new[]
        {
            new TimelineHistoryEntry(1, 0x3000060, "no recovery target specified"),
            new TimelineHistoryEntry(2, 0x5000000, "before 2024-01-01"),
        }));
        Assert.That(TimelineHistoryFile.FileName(10), Is.EqualTo("0000000A.history"));
    }

    [Test]
    public void ConnInfo_quotes_and_parses_back()
    {
        var s = ConnInfo.Build([new("user", "rep"), new("password", "it's a \\secret"), new("host", "10.0.0.1"), new("skipped", null), new("empty", "")]);
        Assert.That(s, Is.EqualTo("user=rep password='it\\'s a \\\\secret' host=10.0.0.1 empty=''"));
        Assert.That(ConnInfo.Parse(s), Is.EqualTo(new Dictionary<string, string> { ["user"] = "rep", ["password"] = "it's a \\secret", ["host"] = "10.0.0.1", ["empty"] = "" }));
    }

    [TestCase("127.0.0.1:5432", "127.0.0.1", 5432, "127.0.0.1")]
    [TestCase("*:5433", "*", 5433, "127.0.0.1")]
    [TestCase("0.0.0.0,10.0.0.5:6000", "0.0.0.0,10.0.0.5", 6000, "127.0.0.1")]
    [TestCase("[::1]:5432", "::1", 5432, "::1")]
    public void Listen_addresses(string text, string hosts, int port, string local)
    {
        Assert.That(ListenAddress.TryParse(text, out var a), Is.True);
        Assert.That((a.Hosts, a.Port, a.LocalConnectHost), Is.EqualTo((hosts, port, local)));
    }

    [TestCase("")]
    [TestCase("host")]
    [TestCase("host:0")]
    [TestCase("host:99999")]
    [TestCase(":5432")]
    public void Bad_listen_addresses(string text) => Assert.That(ListenAddress.TryParse(text, out _), Is.False);
}

public sealed class ConfigFilesTests
{
    private static PostgresControllerOptions Options() => new()
    {
        DataDirectory = "/data/pg",
        Listen = "0.0.0.0:5433",
        UnixSocketDirectory = "/run/pg",
        Scope = "batman",
        MemberName = "node-1",
        Replication = new PostgresCredentials("replicator", "rep'pass"),
        Parameters = new Dictionary<string, string> { ["max_wal_senders"] = "5", ["work_mem"] = "4MB" },
    };

    [Test]
    public void Primary_conf_includes_the_base_file_and_owns_its_settings()
    {
        var conf = new PostgresConfigFiles(Options()).RenderPostgresqlConf(null);
        Assert.Multiple(() =>
        {
            Assert.That(conf, Does.StartWith(PostgresConfigFiles.Marker + "\n"));
            Assert.That(conf, Does.Contain("include 'postgresql.base.conf'"));
            Assert.That(conf, Does.Contain("cluster_name = 'batman'\n"));
            Assert.That(conf, Does.Contain("listen_addresses = '0.0.0.0'\n"));
            Assert.That(conf, Does.Contain("port = '5433'\n"));
            Assert.That(conf, Does.Contain("unix_socket_directories = '/run/pg'\n"));
            Assert.That(conf, Does.Contain("hot_standby = 'on'\n"));
            Assert.That(conf, Does.Contain("wal_log_hints = 'on'\n"));
            Assert.That(conf, Does.Contain("max_wal_senders = '5'\n"), "configured parameters override the defaults");
            Assert.That(conf, Does.Contain("work_mem = '4MB'\n"));
            Assert.That(conf, Does.Not.Contain("primary_conninfo"));
        });
    }

    [Test]
    public void Replica_conf_streams_under_the_member_name_with_its_slot()
    {
        var files = new PostgresConfigFiles(Options());
        var conf = files.RenderPostgresqlConf(new RecoverySettings(files.PrimaryConnInfo("10.0.0.2", 5432), "node_1"));
        Assert.That(conf, Does.Contain("primary_conninfo = 'user=replicator password=''rep\\\\''pass'' host=10.0.0.2 port=5432 sslmode=prefer application_name=node-1 gssencmode=prefer channel_binding=prefer'\n"));
        Assert.That(conf, Does.Contain("primary_slot_name = 'node_1'\n"));
        Assert.That(conf, Does.Contain("recovery_target_timeline = 'latest'\n"));

        var withPassFile = Options();
        withPassFile.PgPassFile = "/home/pg/.pgpass_pgha";
        var info = new PostgresConfigFiles(withPassFile).PrimaryConnInfo("h", 1);
        Assert.That(ConnInfo.Parse(info), Does.ContainKey("passfile").And.Not.ContainKey("password"));
    }

    [Test]
    public void Base_config_takes_over_a_foreign_postgresql_conf_and_keeps_our_own()
    {
        var dir = Directory.CreateTempSubdirectory("pgha-conf-").FullName;
        try
        {
            var o = Options();
            o.DataDirectory = dir;
            var files = new PostgresConfigFiles(o);
            File.WriteAllText(files.ConfPath, "shared_buffers = 1GB\n");
            files.WritePostgresqlConf(null);
            Assert.That(File.ReadAllText(files.BaseConfPath), Is.EqualTo("shared_buffers = 1GB\n"));
            files.WritePostgresqlConf(null);
            Assert.That(File.ReadAllText(files.BaseConfPath), Is.EqualTo("shared_buffers = 1GB\n"), "our own file is not moved again");
            Assert.That(File.GetUnixFileMode(files.ConfPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public sealed class OptionsValidatorTests
{
    private static PostgresControllerOptions Valid() => new()
    {
        DataDirectory = "/var/lib/postgresql/15/main",
        BinDirectory = "/usr/lib/postgresql/15/bin",
        Listen = "0.0.0.0:5432",
        ConnectAddress = "10.0.0.1:5432",
        Scope = "batman",
        MemberName = "node1",
    };

    [Test]
    public void A_complete_configuration_is_valid_and_the_state_directory_defaults_beside_the_data()
    {
        var o = Valid();
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, o).Succeeded, Is.True);
        Assert.That(o.EffectiveStateDirectory, Is.EqualTo("/var/lib/postgresql/15/main.pgha"));
        Assert.That(o.EffectiveRewind, Is.SameAs(o.Superuser));
    }

    [Test]
    public void Every_problem_is_reported()
    {
        var o = Valid();
        o.DataDirectory = "relative/data";
        o.Listen = "nohost";
        o.Scope = "";
        o.MemberName = " ";
        o.Parameters["port"] = "5433";
        o.Parameters["bad name"] = "x";
        o.InitdbOptions = ["username=x"];
        o.BasebackupOptions = ["-D"];
        o.PgCtlTimeout = TimeSpan.Zero;
        o.Replication = new PostgresCredentials("");
        var result = new PostgresControllerOptionsValidator().Validate(null, o);
        Assert.That(result.Failed, Is.True);
        Assert.That(result.Failures!.Count(), Is.EqualTo(10), string.Join('\n', result.Failures!));
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => _ = new PostgresController(o, TimeProvider.System));
    }

    [Test]
    public void The_state_directory_may_not_live_inside_the_data_directory()
    {
        var o = Valid();
        o.StateDirectory = o.DataDirectory + "/pgha";
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, o).FailureMessage, Does.Contain("outside the data directory"));
    }
}

public sealed class FencerScriptTests
{
    [Test]
    public void The_fencer_script_is_embedded_and_valid_bash()
    {
        var script = WriteFence.LoadScript();
        Assert.That(script, Does.StartWith("#!/usr/bin/env bash"));
        var path = Path.Combine(Path.GetTempPath(), $"pgha-fencer-{Environment.ProcessId}.sh");
        File.WriteAllText(path, script);
        try { PgTestEnvironment.Run("bash", "-n", path); }
        finally { File.Delete(path); }
    }

    [Test]
    public void Boot_clock_reads_proc_uptime_in_centiseconds()
    {
        var a = BootClock.NowCentiseconds();
        var b = BootClock.NowCentiseconds();
        Assert.That(a, Is.GreaterThan(0));
        Assert.That(b, Is.GreaterThanOrEqualTo(a));
    }
}

/// <summary>
/// Which methods a standby cluster's clone of its remote tries (Patroni: <c>standby_cluster.create_replica_methods</c>,
/// each with its local <c>postgresql.&lt;name&gt;</c> section; <c>basebackup</c> when the list is empty).
/// </summary>
public sealed class StandbyReplicaMethodsTests
{
    private static readonly ReplicaCreationMethod Restore = new("restore_backup") { Command = "/usr/local/bin/restore --latest", NoLeader = true };
    private static readonly ReplicaCreationMethod WalG = new("wal_g") { Command = "wal-g backup-fetch", KeepData = true };

    private static PostgresControllerOptions Options() => new()
    {
        // The local list the members of an ordinary cluster use; a standby cluster's clone must not follow it.
        CreateReplicaMethods = [WalG, ReplicaCreationMethod.Basebackup],
        OtherReplicaMethods = [Restore],
    };

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(Array.Empty<string>(), new[] { "basebackup:basebackup" }).SetName("An empty list means basebackup alone, not the local list");
        yield return new TestCaseData(new[] { "basebackup" }, new[] { "basebackup:basebackup" }).SetName("basebackup alone, though the local list starts with wal_g");
        yield return new TestCaseData(new[] { "restore_backup", "basebackup" }, new[] { "restore_backup:/usr/local/bin/restore --latest:no_leader", "basebackup:basebackup" })
            .SetName("A section the local list does not name is used, in the section's order");
        yield return new TestCaseData(new[] { "basebackup", "wal_g" }, new[] { "basebackup:basebackup", "wal_g:wal-g backup-fetch:keep_data" })
            .SetName("A method of the local list keeps its section and takes the standby list's position");
        yield return new TestCaseData(new[] { "pgbackrest", "pgbackrest" }, new[] { "pgbackrest:pgbackrest" })
            .SetName("A name without a section runs as a command of that name (once)");
    }

    [TestCaseSource(nameof(Cases))]
    public void The_standby_clusters_list_decides_with_the_local_sections(string[] standbyList, string[] expected)
    {
        var methods = Options().ReplicaMethodsFor(new StandbyClusterConfig { Host = "10.0.0.9", CreateReplicaMethods = [.. standbyList] });
        Assert.That(methods.Select(Describe), Is.EqualTo(expected));
    }

    [Test]
    public void Only_no_leader_methods_count_as_working_without_a_host()
    {
        var methods = Options().ReplicaMethodsFor(new StandbyClusterConfig { RestoreCommand = "cp /archive/%f %p", CreateReplicaMethods = ["basebackup", "restore_backup", "wal_g"] });
        Assert.That(methods.Where(m => m.WorksWithoutLeader).Select(m => m.Name), Is.EqualTo(new[] { "restore_backup" }));
    }

    [Test]
    public void A_section_defined_twice_or_named_basebackup_is_refused()
    {
        var o = Options();
        o.DataDirectory = "/var/lib/postgresql/15/main";
        o.Scope = "batman";
        o.MemberName = "node1";
        o.OtherReplicaMethods = [new ReplicaCreationMethod("wal_g") { Command = "x" }, new ReplicaCreationMethod("basebackup"), new ReplicaCreationMethod("broken") { Command = "'unterminated" }];
        var failures = new PostgresControllerOptionsValidator().Validate(null, o).Failures!.ToList();
        Assert.That(failures, Has.Some.Contains("replica method 'wal_g' is defined twice"));
        Assert.That(failures, Has.Some.Contains("replica method section 'basebackup'"));
        Assert.That(failures, Has.Some.Contains("postgresql.broken.command"));
    }

    private static string Describe(ReplicaCreationMethod m) =>
        m.IsBasebackup ? "basebackup:basebackup"
        : string.Join(':', new[] { m.Name, m.Command ?? m.Name, m.NoLeader ? "no_leader" : null, m.KeepData ? "keep_data" : null }.OfType<string>());
}
