using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary><c>standby_cluster</c>, <c>slots</c> and <c>ignore_slots</c> as the <c>config</c> key carries them (§5.13, §5.15, §6).</summary>
[TestFixture]
public sealed class StandbyAndSlotsConfigTests
{
    private static (GlobalConfig Config, List<DcsDataProblem> Problems) Parse(string json)
    {
        var problems = new List<DcsDataProblem>();
        return (ConfigCodec.Parse(json, default, problems), problems);
    }

    [Test]
    public void Standby_cluster_section_is_read_with_patronis_names()
    {
        var (config, problems) = Parse("""
            {"standby_cluster":{"host":"10.0.0.5","port":"5433","primary_slot_name":"standby","create_replica_methods":["basebackup"],
             "restore_command":"cp /arch/%f %p","archive_cleanup_command":"pg_archivecleanup /arch %r","recovery_min_apply_delay":300}}
            """);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(problems, Is.Empty);
            Assert.That(config.IsStandbyCluster, Is.True);
            Assert.That(config.StandbyCluster, Is.EqualTo(new StandbyClusterConfig
            {
                Host = "10.0.0.5",
                Port = 5433,
                PrimarySlotName = "standby",
                CreateReplicaMethods = ["basebackup"],
                RestoreCommand = "cp /arch/%f %p",
                ArchiveCleanupCommand = "pg_archivecleanup /arch %r",
                RecoveryMinApplyDelay = "300",
            }));
        }
    }

    [TestCase("""{"standby_cluster":null}""", TestName = "A null section is no standby cluster")]
    [TestCase("""{"standby_cluster":{"host":"","port":"","restore_command":""}}""", TestName = "Empty strings count as unset, as in Patroni")]
    [TestCase("""{"standby_cluster":{"primary_slot_name":"s"}}""", TestName = "A slot name alone does not make a standby cluster")]
    [TestCase("""{}""", TestName = "No section, no standby cluster")]
    public void Not_a_standby_cluster(string json) => Assert.That(Parse(json).Config.IsStandbyCluster, Is.False);

    [Test]
    public void Restore_command_alone_makes_a_standby_cluster() =>
        Assert.That(Parse("""{"standby_cluster":{"restore_command":"cp /a/%f %p"}}""").Config.IsStandbyCluster, Is.True);

    [TestCase("""{"standby_cluster":"10.0.0.5"}""", "should be an object")]
    [TestCase("""{"standby_cluster":{"port":"x"}}""", "should be a TCP port")]
    [TestCase("""{"standby_cluster":{"host":["a"]}}""", "should be a string")]
    [TestCase("""{"slots":{"Bad-Name":null}}""", "lower case letters")]
    [TestCase("""{"slots":{"l":{"type":"logical","database":"d"}}}""", "needs both 'database' and 'plugin'")]
    [TestCase("""{"slots":{"x":{"type":"other"}}}""", "expected physical or logical")]
    [TestCase("""{"slots":["x"]}""", "should be an object of slot names")]
    [TestCase("""{"ignore_slots":{"name":"x"}}""", "should be a list")]
    [TestCase("""{"ignore_slots":["x"]}""", "not an object")]
    public void Bad_values_are_reported(string json, string problem)
    {
        var (_, problems) = Parse(json);

        Assert.That(problems.Select(p => p.Problem), Has.One.Contains(problem));
    }

    [Test]
    public void Permanent_slots_follow_patronis_type_rules_and_alias_order()
    {
        var (config, problems) = Parse("""
            {"slots":{"ignored_alias":null},
             "permanent_slots":{"a":null,"b":0,"c":{},"d":{"database":"db","plugin":"pgoutput"},"e":{"database":"db"},"f":{"type":"physical","database":"db","plugin":"x"}}}
            """);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(problems, Is.Empty);
            Assert.That(config.Slots.Permanent, Is.EqualTo(new[]
            {
                new PermanentSlot("a", ReplicationSlotType.Physical),
                new PermanentSlot("b", ReplicationSlotType.Physical),
                new PermanentSlot("c", ReplicationSlotType.Physical),
                new PermanentSlot("d", ReplicationSlotType.Logical, "db", "pgoutput"),
                new PermanentSlot("e", ReplicationSlotType.Physical),
                new PermanentSlot("f", ReplicationSlotType.Physical),
            }));
        }
    }

    [Test]
    public void Ignore_rules_match_on_every_property_they_name()
    {
        var (config, _) = Parse("""{"ignore_slots":[{"name":"a"},{"type":"logical","plugin":"wal2json"},{"database":"db","type":"physical"}]}""");
        var slots = config.Slots;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(slots.IsIgnored("a", ReplicationSlotType.Physical, null, null), Is.True);
            Assert.That(slots.IsIgnored("b", ReplicationSlotType.Logical, "x", "wal2json"), Is.True);
            Assert.That(slots.IsIgnored("b", ReplicationSlotType.Logical, "x", "pgoutput"), Is.False);
            Assert.That(slots.IsIgnored("b", ReplicationSlotType.Physical, null, null), Is.False, "a physical slot has no database");
        }
    }

    [Test]
    public void The_sections_survive_serialization_byte_for_byte()
    {
        const string json = """{"ttl":30,"slots":{"s":{"type":"physical"}},"ignore_slots":[{"name":"x"}],"standby_cluster":{"host":"h","port":5432}}""";
        var config = Parse(json).Config with { Ttl = 40 };

        var written = ConfigCodec.Serialize(config);

        Assert.That(written, Is.EqualTo(json.Replace("\"ttl\":30", "\"ttl\":40", StringComparison.Ordinal)));
    }

    [Test]
    public void Configs_parsed_twice_are_equal()
    {
        const string json = """{"slots":{"s":{"type":"physical"}},"ignore_slots":[{"name":"x"}],"standby_cluster":{"host":"h","create_replica_methods":["basebackup"]}}""";

        var first = Parse(json).Config;
        var second = Parse(json).Config;

        Assert.That(second, Is.EqualTo(first));
    }
}
