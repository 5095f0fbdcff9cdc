using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>Permanent and member slots, replicas' slot copies, and a standby leader following a remote primary, on real PostgreSQL.</summary>
public sealed class SlotsAndStandbyTests : PgTestBase
{
    private static ReplicationSlotPlan Plan(bool dropUnknown, string ignoreJson, params DesiredSlot[] slots) =>
        new([.. slots.OrderBy(s => s.Name, StringComparer.Ordinal)], dropUnknown,
            Cluster.Serialization.ConfigCodec.Parse(ignoreJson, default, []).Slots, []);

    [Test]
    public async Task Primary_creates_physical_and_logical_slots_drops_unknown_inactive_ones_and_spares_ignored_and_active_ones()
    {
        var a = Node("node-a", o => o.Parameters["wal_level"] = "logical");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(() => a.Scalar<bool>("SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = 'node_b'"), TimeSpan.FromSeconds(20)), Is.True);
        a.Execute("SELECT pg_create_logical_replication_slot('stray_logical', 'test_decoding')");
        a.Execute("SELECT pg_create_physical_replication_slot('stray_physical')");
        a.Execute("SELECT pg_create_logical_replication_slot('external_cdc', 'test_decoding')");
        a.Execute("SELECT pg_create_logical_replication_slot('cdc', 'pgoutput')");
        const string ignore = """{"ignore_slots":[{"name":"external_cdc","type":"logical"}]}""";

        // node_b is not wanted any more but active: kept. cdc exists with another plugin: recreated.
        var positions = await a.Controller.SyncReplicationSlotsAsync(Plan(true, ignore,
            new DesiredSlot("keep_phys", ReplicationSlotType.Physical),
            new DesiredSlot("cdc", ReplicationSlotType.Logical, "postgres", "test_decoding")), CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Slots(a), Is.EqualTo(new[] { "cdc:logical:test_decoding", "external_cdc:logical:test_decoding", "keep_phys:physical:", "node_b:physical:" }));
            Assert.That(positions.Keys.Order(StringComparer.Ordinal), Is.EqualTo(new[] { "cdc", "external_cdc", "keep_phys", "node_b" }));
            Assert.That(positions["keep_phys"], Is.GreaterThan(0), "WAL reserved at once: restart_lsn reported");
            Assert.That(a.Logger.Collector.GetSnapshot().Count(r => r.Id.Id == PostgresEventId.SlotDropped), Is.EqualTo(3), "stray_logical, stray_physical, cdc (plugin changed)");
        }

        // Maintenance mode: nothing is dropped.
        a.Execute("SELECT pg_create_physical_replication_slot('stray_again')");
        await a.Controller.SyncReplicationSlotsAsync(Plan(false, "{}"), CancellationToken.None);
        Assert.That(Slots(a), Does.Contain("stray_again:physical:"));
    }

    [Test]
    public async Task A_logical_slot_that_cannot_be_created_is_reported_and_the_others_still_are()
    {
        var a = Node("node-a"); // wal_level replica: no logical decoding
        await a.StartNewPrimaryAsync();

        await a.Controller.SyncReplicationSlotsAsync(Plan(true, "{}",
            new DesiredSlot("cdc", ReplicationSlotType.Logical, "postgres", "test_decoding"),
            new DesiredSlot("phys", ReplicationSlotType.Physical)), CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Slots(a), Is.EqualTo(new[] { "phys:physical:" }));
            Assert.That(a.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.SlotActionFailed && r.Message.Contains("cdc", StringComparison.Ordinal)), Is.True);
        }
    }

    [Test]
    public async Task Replica_keeps_copies_of_the_leaders_slots_advanced_to_the_published_position_but_not_past_its_replay()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        a.Execute("CREATE TABLE t AS SELECT generate_series(1, 50000) AS x");
        var primaryLsn = a.Scalar<long>("SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint");
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint") >= primaryLsn, TimeSpan.FromSeconds(20)), Is.True);

        await b.Controller.SyncReplicationSlotsAsync(Plan(true, "{}", new DesiredSlot("keep_phys", ReplicationSlotType.Physical, AdvanceTo: 1)), CancellationToken.None);
        var created = b.Scalar<long>("SELECT pg_wal_lsn_diff(restart_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = 'keep_phys'");
        Assert.That(created, Is.GreaterThan(0), "created on the standby with WAL reserved");

        var positions = await b.Controller.SyncReplicationSlotsAsync(Plan(true, "{}", new DesiredSlot("keep_phys", ReplicationSlotType.Physical, AdvanceTo: primaryLsn)), CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(positions["keep_phys"], Is.EqualTo(primaryLsn), "advanced to the leader's position");
            Assert.That(positions["keep_phys"], Is.GreaterThanOrEqualTo(created));
        }

        // Far beyond what the replica replayed: capped there, never an error.
        var replay = b.Scalar<long>("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint");
        positions = await b.Controller.SyncReplicationSlotsAsync(Plan(true, "{}", new DesiredSlot("keep_phys", ReplicationSlotType.Physical, AdvanceTo: replay + (1L << 30))), CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(positions["keep_phys"], Is.InRange(primaryLsn, b.Scalar<long>("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint")));
            Assert.That(b.Logger.Collector.GetSnapshot().Where(r => r.Id.Id == PostgresEventId.SlotActionFailed).Select(r => r.Message), Is.Empty);
        }

        // A slot the plan no longer wants goes; a permanent logical one the replica merely keeps is never created there.
        await b.Controller.SyncReplicationSlotsAsync(Plan(true, "{}", new DesiredSlot("cdc", ReplicationSlotType.Logical, "postgres", "test_decoding", Create: false)), CancellationToken.None);
        Assert.That(Slots(b), Is.Empty);
    }

    [Test]
    public async Task A_standby_leader_clones_and_follows_the_remote_primary_through_its_slot_with_the_recovery_settings()
    {
        var remote = Node("remote-a");
        var leader = Node("standby-b");
        await remote.StartNewPrimaryAsync();
        remote.Execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
        await remote.Controller.SyncReplicationSlotsAsync(["standby_b"], CancellationToken.None);
        var section = new StandbyClusterConfig
        {
            Host = "127.0.0.1",
            Port = remote.Port,
            PrimarySlotName = "standby_b",
            RestoreCommand = "false",
            RecoveryMinApplyDelay = "0",
        };

        await leader.Controller.CreateReplicaFromRemoteAsync(section, CancellationToken.None);
        var cloned = await leader.StatusAsync();
        Assert.That((cloned.DataDirectory, cloned.IsRunning, cloned.Role, cloned.SystemId), Is.EqualTo((DataDirectoryState.Initialized, false, PostgresRole.Replica, (await remote.StatusAsync()).SystemId)));

        await leader.Controller.FollowRemotePrimaryAsync(section, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(() => remote.Scalar<bool>("SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = 'standby_b'"), TimeSpan.FromSeconds(20)), Is.True,
            "streams through primary_slot_name");
        remote.Execute("INSERT INTO t VALUES (1001)");
        Assert.That(await PgNode.WaitUntilAsync(() => leader.Scalar<long>("SELECT count(*) FROM t") == 1001, TimeSpan.FromSeconds(20)), Is.True);
        var status = await leader.StatusAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status.Upstream, Is.EqualTo(section.UpstreamName));
            Assert.That(leader.Scalar<string>("SELECT current_setting('restore_command')"), Is.EqualTo("false"));
            Assert.That(leader.Scalar<string>("SELECT current_setting('primary_slot_name')"), Is.EqualTo("standby_b"));
            Assert.That(leader.Scalar<string>("SELECT current_setting('primary_conninfo')"), Does.Contain($"port={remote.Port}"));
            Assert.That(remote.Scalar<string>("SELECT application_name FROM pg_stat_replication"), Is.EqualTo("standby-b"));
        }

        // The section changes (no slot any more): a running standby leader is reconfigured by a reload.
        var pid = leader.PostmasterPid();
        var changed = section with { PrimarySlotName = null };
        await leader.Controller.FollowRemotePrimaryAsync(changed, CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(leader.PostmasterPid(), Is.EqualTo(pid), "reloaded, not restarted");
            Assert.That((await leader.StatusAsync()).Upstream, Is.EqualTo(changed.UpstreamName));
            Assert.That(await PgNode.WaitUntilAsync(() => leader.Scalar<string>("SELECT current_setting('primary_slot_name')") == "", TimeSpan.FromSeconds(10)), Is.True);
        }
    }

    [Test]
    public async Task Following_the_remote_refuses_a_running_primary()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();

        Assert.ThrowsAsync<InvalidOperationException>(() => a.Controller.FollowRemotePrimaryAsync(new StandbyClusterConfig { Host = "127.0.0.1", Port = 1 }, CancellationToken.None));
    }

    private static string[] Slots(PgNode node)
    {
        using var c = node.Open();
        using var cmd = new Npgsql.NpgsqlCommand("SELECT slot_name || ':' || slot_type || ':' || coalesce(plugin, '') FROM pg_replication_slots ORDER BY 1", c);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return [.. list];
    }
}
