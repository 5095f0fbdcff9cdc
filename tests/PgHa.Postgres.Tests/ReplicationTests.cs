using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>Clone, follow, promote, rewind and slots against real PostgreSQL 15 servers.</summary>
public sealed class ReplicationTests : PgTestBase
{
    [Test]
    public async Task Replica_streams_under_its_member_name_through_its_slot_and_is_promoted_to_timeline_2()
    {
        var a = Node("node-a");
        var b = Node("node.B");
        await a.StartNewPrimaryAsync();
        a.Execute("CREATE TABLE t AS SELECT generate_series(1, 10000) AS x");

        await b.Controller.CreateReplicaAsync(a.Member, CancellationToken.None);
        var cloned = await b.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That((cloned.DataDirectory, cloned.IsRunning, cloned.Role), Is.EqualTo((DataDirectoryState.Initialized, false, PostgresRole.Replica)));
            Assert.That(cloned.SystemId, Is.EqualTo(a.StatusAsync().Result.SystemId));
            Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.Progress && r.Message.Contains("kB (100%)", StringComparison.Ordinal)),
                Is.True, "pg_basebackup --progress reports become log lines");
        });

        await a.Controller.SyncReplicationSlotsAsync([b.SlotName], CancellationToken.None);
        await b.Controller.FollowAsync(a.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "streaming");
        var followed = b.Logger.Collector.GetSnapshot();
        Assert.That(followed.Any(r => r.Id.Id == PostgresEventId.DivergenceCheckSkipped), Is.True, "a fresh pg_basebackup of the upstream is not checked against it");
        Assert.That(followed.Any(r => r.Id.Id == PostgresEventId.DivergenceChecked), Is.False);
        await b.Controller.FollowAsync(a.Member, CancellationToken.None);
        Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.DivergenceChecked), Is.True, "only the first follow after the clone skips it");
        var replica = await b.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That((replica.IsRunning, replica.Role, replica.Timeline, replica.Upstream), Is.EqualTo((true, PostgresRole.Replica, 1, "node-a")));
            Assert.That(b.SlotName, Is.EqualTo("node_b"));
            Assert.That(a.Scalar<string>("SELECT application_name FROM pg_stat_replication"), Is.EqualTo("node.B"));
            Assert.That(a.Scalar<bool>("SELECT active FROM pg_replication_slots WHERE slot_name = 'node_b'"), Is.True);
        });
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT count(*) FROM t") == 10000, TimeSpan.FromSeconds(10)), Is.True);

        // The agent restarts: the followed member is remembered.
        b.Restart();
        Assert.That((await b.StatusAsync()).Upstream, Is.EqualTo("node-a"));

        await a.Controller.StopForDemoteAsync(DemoteMode.Immediate, CancellationToken.None);
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        var promoted = await b.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That((promoted.IsRunning, promoted.Role, promoted.Timeline, promoted.Upstream), Is.EqualTo((true, PostgresRole.Primary, 2, (string?)null)));
            Assert.That(b.Scalar<int>("SELECT timeline_id FROM pg_control_checkpoint()"), Is.EqualTo(2), "CHECKPOINT after promote");
            Assert.That(File.Exists(Path.Combine(b.Options.DataDirectory, "standby.signal")), Is.False);
        });
        var history = await b.Controller.ReadTimelineHistoryAsync(2, CancellationToken.None);
        Assert.That(history, Has.Count.EqualTo(1));
        Assert.That(history[0].Timeline, Is.EqualTo(1));
        Assert.That(history[0].SwitchLsn, Is.GreaterThan(0).And.LessThanOrEqualTo(promoted.Lsn));
        Assert.That(await b.Controller.ReadTimelineHistoryAsync(1, CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Former_primary_that_wrote_after_the_failover_is_rewound_and_follows_the_new_primary()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        a.Execute("CREATE TABLE t (x int)");
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT count(*) FROM pg_class WHERE relname = 't'") == 1, TimeSpan.FromSeconds(10)), Is.True);

        // b is promoted while a (cut off) keeps accepting writes: the histories fork.
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        b.Execute("INSERT INTO t VALUES (2)");
        a.Execute("INSERT INTO t SELECT generate_series(1, 5000)");

        var followWhileRunning = Assert.ThrowsAsync<InvalidOperationException>(() => a.Controller.FollowAsync(b.Member, CancellationToken.None));
        Assert.That(followWhileRunning!.Message, Does.Contain("running primary"));

        await a.Controller.StopForDemoteAsync(DemoteMode.ImmediateNoLock, CancellationToken.None);
        await a.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await b.Controller.SyncReplicationSlotsAsync([a.SlotName], CancellationToken.None);
        await a.Controller.FollowAsync(b.Member, CancellationToken.None);

        var events = a.Logger.Collector.GetSnapshot();
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.Rewound && r.Message.Contains(": rewound", StringComparison.Ordinal)), Is.True,
            string.Join('\n', events.Select(e => e.Message)));
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "streams from the new primary");
        var status = await a.StatusAsync();
        Assert.That((status.Role, status.Timeline, status.Upstream), Is.EqualTo((PostgresRole.Replica, 2, "node-b")));
        Assert.That(await PgNode.WaitUntilAsync(() => a.Scalar<long>("SELECT count(*) FROM t") == 1, TimeSpan.FromSeconds(10)), Is.True,
            "the writes a took after the failover are gone; b's are there");
        Assert.That(b.Scalar<string>("SELECT application_name FROM pg_stat_replication"), Is.EqualTo("node-a"));
    }

    [Test]
    public async Task Diverged_former_primary_without_pg_rewind_is_wiped_and_cloned_again_when_configured()
    {
        var a = Node("node-a", o =>
        {
            o.UsePgRewind = false;
            o.RemoveDataDirectoryOnRewindFailure = true;
        });
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        a.Execute("CREATE TABLE t (x int)");
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT count(*) FROM pg_class WHERE relname = 't'") == 1, TimeSpan.FromSeconds(10)), Is.True);
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        a.Execute("INSERT INTO t SELECT generate_series(1, 5000)");
        a.Execute("CHECKPOINT");

        await a.Controller.StopForDemoteAsync(DemoteMode.Immediate, CancellationToken.None);
        await a.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await b.Controller.SyncReplicationSlotsAsync([a.SlotName], CancellationToken.None);
        await a.Controller.FollowAsync(b.Member, CancellationToken.None);

        var events = a.Logger.Collector.GetSnapshot();
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.DataDirectoryRemoved), Is.True, string.Join('\n', events.Select(e => e.Message)));
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.Cloned), Is.True);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        Assert.That(a.Scalar<long>("SELECT count(*) FROM t"), Is.Zero, "b's history, not a's");
        Assert.That((await a.StatusAsync()).Timeline, Is.EqualTo(2));
    }

    [Test]
    public async Task Switchover_with_a_clean_shutdown_needs_no_rewind()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        a.Execute("CREATE TABLE t AS SELECT 1 AS x");

        await a.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        // The replica receives the shutdown checkpoint before a's walsender exits.
        var aLsn = (await a.StatusAsync()).Lsn;
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).Lsn > aLsn, TimeSpan.FromSeconds(10)), Is.True);
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        await a.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await b.Controller.SyncReplicationSlotsAsync([a.SlotName], CancellationToken.None);
        await a.Controller.FollowAsync(b.Member, CancellationToken.None);

        var events = a.Logger.Collector.GetSnapshot();
        // The shutdown checkpoint record ends exactly at the fork point (read with pg_waldump): no pg_rewind at all.
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.DivergenceChecked && r.Message.Contains("shutdown checkpoint ends at the fork point", StringComparison.Ordinal)), Is.True,
            string.Join('\n', events.Select(e => e.Message)));
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.RewindStarted), Is.False, string.Join('\n', events.Select(e => e.Message)));
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        b.Execute("INSERT INTO t VALUES (2)");
        Assert.That(await PgNode.WaitUntilAsync(() => a.Scalar<long>("SELECT count(*) FROM t") == 2, TimeSpan.FromSeconds(10)), Is.True);
    }

    // promoteFirst false: the bystander is told to follow a leader whose promotion is still running (a leader is elected
    // before it is promoted), which made it judge the leader's timeline by its restartpoint's too.
    [TestCase(true, TestName = "Uninvolved replica of a second switchover follows the new primary without pg_rewind or restart")]
    [TestCase(false, TestName = "Uninvolved replica of a second switchover follows the new leader before its promotion without pg_rewind or restart")]
    public async Task Uninvolved_replica_follows_the_new_leader_of_a_second_switchover_without_rewind_or_restart(bool promoteFirst)
    {
        var a = Node("node-a");
        var b = Node("node-b");
        var c = Node("node-c");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        await c.StartReplicaOfAsync(a);
        a.Execute("CREATE TABLE t AS SELECT 1 AS x");
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT count(*) FROM pg_class WHERE relname = 't'") == 1
                                                    && c.Scalar<long>("SELECT count(*) FROM pg_class WHERE relname = 't'") == 1, TimeSpan.FromSeconds(10)), Is.True);

        // Switchover 1: a → b (timeline 2); a and c follow b, and c replays b's timeline-2 WAL.
        await StopForSwitchoverAsync(from: a, others: [b, c]);
        await PromoteAsync(from: a, to: b, others: [c]);
        await a.Controller.FollowAsync(b.Member, CancellationToken.None);
        await c.Controller.FollowAsync(b.Member, CancellationToken.None);
        b.Execute("INSERT INTO t VALUES (2)");
        Assert.That(await PgNode.WaitUntilAsync(() => c.Scalar<long>("SELECT count(*) FROM t") == 2 && a.Scalar<long>("SELECT count(*) FROM t") == 2,
            TimeSpan.FromSeconds(20)), Is.True, "a and c replay b's timeline 2");
        // What made the check go wrong: without a WAL receiver the only timeline SQL shows of a standby is the one of its
        // last restartpoint, still 1 here (restartpoints come with checkpoint_timeout or max_wal_size, not with a switch).
        Assert.That(c.Scalar<int>("SELECT timeline_id FROM pg_control_checkpoint()"), Is.EqualTo(1), "precondition: c's last restartpoint is on timeline 1");
        Assert.That(await PgNode.WaitUntilAsync(async () => await c.StatusAsync() is { IsStreaming: true, Timeline: 2 }, TimeSpan.FromSeconds(20)), Is.True,
            "c is seen streaming on timeline 2");
        Assert.That(a.Scalar<int>("SELECT timeline_id FROM pg_control_checkpoint()"), Is.EqualTo(1), "precondition: a's last restartpoint is on timeline 1");

        // Switchover 2: b → a (timeline 3). c's WAL receiver is down (b is stopped) when it is told to follow a.
        await StopForSwitchoverAsync(from: b, others: [a, c]);
        if (promoteFirst) await PromoteAsync(from: b, to: a, others: [c]);
        Assert.That(await PgNode.WaitUntilAsync(() => c.Scalar<int?>("SELECT pid FROM pg_stat_wal_receiver") is null, TimeSpan.FromSeconds(10)), Is.True,
            "c's WAL receiver has no upstream while b is down");
        Assert.That((await c.StatusAsync()).Timeline, Is.EqualTo(2), "the status remembers the timeline c was seen streaming on, not its restartpoint's");
        var pid = c.PostmasterPid();
        var startedAt = c.Scalar<DateTime>("SELECT pg_postmaster_start_time()");
        c.Logger.Collector.Clear();
        await a.Controller.SyncReplicationSlotsAsync([c.SlotName, b.SlotName], CancellationToken.None);
        await c.Controller.FollowAsync(a.Member, CancellationToken.None);
        if (!promoteFirst) await PromoteAsync(from: b, to: a, others: [c]);

        var events = c.Logger.Collector.GetSnapshot();
        var log = string.Join('\n', events.Select(e => $"{e.Id.Id} {e.Message}"));
        var upstreamTimeline = promoteFirst ? "upstream timeline 3" : "upstream timeline 2";
        Assert.Multiple(() =>
        {
            Assert.That(events.Any(r => r.Id.Id is PostgresEventId.RewindStarted or PostgresEventId.Rewound or PostgresEventId.Stopping), Is.False, log);
            Assert.That(events.Any(r => r.Id.Id == PostgresEventId.DivergenceChecked && r.Message.Contains("local timeline 2 (from IDENTIFY_SYSTEM)", StringComparison.Ordinal)
                                        && r.Message.Contains(upstreamTimeline, StringComparison.Ordinal) && r.Message.Contains("can follow as it is", StringComparison.Ordinal)), Is.True, log);
            Assert.That(events.Any(r => r.Id.Id is PostgresEventId.LocalTimelineFallback or PostgresEventId.DivergenceUnknown), Is.False, log);
            Assert.That(c.PostmasterPid(), Is.EqualTo(pid), "the same postmaster");
            Assert.That(c.Scalar<DateTime>("SELECT pg_postmaster_start_time()"), Is.EqualTo(startedAt), "not restarted");
        });
        Assert.That(await PgNode.WaitUntilAsync(async () => (await c.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "c streams from a");
        a.Execute("INSERT INTO t VALUES (3)");
        Assert.That(await PgNode.WaitUntilAsync(() => c.Scalar<long>("SELECT count(*) FROM t") == 3, TimeSpan.FromSeconds(10)), Is.True);
        var status = await c.StatusAsync();
        Assert.That((status.Role, status.Timeline, status.Upstream), Is.EqualTo((PostgresRole.Replica, 3, "node-a")));
        Assert.That(a.Scalar<string>("SELECT string_agg(application_name, ',') FROM pg_stat_replication"), Is.EqualTo("node-c"));
    }

    /// <summary>The first half of a switchover: the primary stops gracefully and the others receive its shutdown checkpoint.</summary>
    private static async Task StopForSwitchoverAsync(PgNode from, IReadOnlyList<PgNode> others)
    {
        await from.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        var last = (await from.StatusAsync()).Lsn;
        foreach (var replica in others)
            Assert.That(await PgNode.WaitUntilAsync(async () => (await replica.StatusAsync()).Lsn > last, TimeSpan.FromSeconds(10)), Is.True,
                $"{replica.Name} receives {from.Name}'s shutdown checkpoint");
    }

    /// <summary>The second half: the candidate is promoted and keeps slots for the others; the old primary is left stopped.</summary>
    private static async Task PromoteAsync(PgNode from, PgNode to, IReadOnlyList<PgNode> others)
    {
        await to.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await to.Controller.PromoteAsync(CancellationToken.None);
        await from.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await to.Controller.SyncReplicationSlotsAsync([.. others.Append(from).Select(n => n.SlotName)], CancellationToken.None);
    }

    [Test]
    public async Task Stopped_replica_status_comes_from_pg_controldata_and_follow_null_waits_without_upstream()
    {
        var a = Node("node-a");
        // No replication line for b itself: its divergence check cannot ask IDENTIFY_SYSTEM and says so.
        var b = Node("node-b", o => o.PgHba = ["local all all trust", "host all all 127.0.0.1/32 trust"]);
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        await b.Controller.StopForDemoteAsync(DemoteMode.Offline, CancellationToken.None);
        var stopped = await b.StatusAsync();
        Assert.That((stopped.IsRunning, stopped.Role, stopped.Timeline, stopped.Upstream), Is.EqualTo((false, PostgresRole.Replica, 1, (string?)null)));
        Assert.That(stopped.Lsn, Is.GreaterThan(0));

        // pg_control alone (no standby.signal) also says replica: "shut down in recovery".
        File.Delete(Path.Combine(b.Options.DataDirectory, "standby.signal"));
        Assert.That((await b.StatusAsync()).Role, Is.EqualTo(PostgresRole.Replica));

        await b.Controller.FollowAsync(null, CancellationToken.None);
        var waiting = await b.StatusAsync();
        Assert.That((waiting.IsRunning, waiting.Role, waiting.IsStreaming, waiting.Upstream), Is.EqualTo((true, PostgresRole.Replica, false, (string?)null)));

        // Pointing the running replica at an upstream is a reload, not a restart.
        var pid = b.PostmasterPid();
        await b.Controller.FollowAsync(a.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        Assert.That(b.PostmasterPid(), Is.EqualTo(pid));
        Assert.That((await b.StatusAsync()).Upstream, Is.EqualTo("node-a"));
        var events = b.Logger.Collector.GetSnapshot();
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.LocalTimelineFallback && r.Message.Contains("no pg_hba.conf entry", StringComparison.Ordinal)
                                    && r.Message.Contains("last restartpoint's timeline 1", StringComparison.Ordinal)), Is.True,
            string.Join('\n', events.Select(e => $"{e.Id.Id} {e.Message}")));
        Assert.That(events.Any(r => r.Id.Id == PostgresEventId.DivergenceChecked && r.Message.Contains("local timeline 1 (from last restartpoint)", StringComparison.Ordinal)), Is.True);
    }

    [Test]
    public async Task Slot_sync_creates_missing_slots_drops_inactive_strays_logical_ones_too_and_keeps_active_slots()
    {
        var a = Node("node-a", o => o.Parameters["wal_level"] = "logical");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(() => a.Scalar<bool>("SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = 'node_b'"), TimeSpan.FromSeconds(20)), Is.True);
        a.Execute("SELECT pg_create_logical_replication_slot('logical_one', 'test_decoding')");

        // Like Patroni, an inactive slot nobody asked for goes, logical or not (ignore_slots protects one: SlotsAndStandbyTests).
        await a.Controller.SyncReplicationSlotsAsync(["node_b", "node_c", "node_d"], CancellationToken.None);
        Assert.That(Slots(a), Is.EqualTo(new[] { "node_b:physical", "node_c:physical", "node_d:physical" }));
        Assert.That(a.Scalar<bool>("SELECT restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'node_c'"), Is.True, "WAL reserved at once");

        await a.Controller.SyncReplicationSlotsAsync(["node_d"], CancellationToken.None);
        Assert.That(Slots(a), Is.EqualTo(new[] { "node_b:physical", "node_d:physical" }), "node_b is active: kept");

        // A replica keeps the slots of the members cascading from it (replicatefrom), WAL reserved at once there too.
        await b.Controller.SyncReplicationSlotsAsync(["node_c"], CancellationToken.None);
        Assert.That(Slots(b), Is.EqualTo(new[] { "node_c:physical" }));
        Assert.That(b.Scalar<bool>("SELECT restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'node_c'"), Is.True, "WAL reserved on the standby");
        await b.Controller.SyncReplicationSlotsAsync([], CancellationToken.None);
        Assert.That(b.Scalar<long>("SELECT count(*) FROM pg_replication_slots"), Is.Zero);
    }

    private static string[] Slots(PgNode node)
    {
        using var c = node.Open();
        using var cmd = new Npgsql.NpgsqlCommand("SELECT slot_name || ':' || slot_type FROM pg_replication_slots ORDER BY 1", c);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return [.. list];
    }
}
