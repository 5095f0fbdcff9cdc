using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>synchronous_standby_names as synchronous mode sets it, against real PostgreSQL 15 servers.</summary>
public sealed class SynchronousStandbyTests : PgTestBase
{
    [Test]
    public async Task Named_standby_becomes_sync_in_pg_stat_replication_and_the_value_survives_a_restart_and_an_agent_restart()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).Replication.Any(r => r.ApplicationName == "node-b" && r.State == "streaming"), TimeSpan.FromSeconds(20)), Is.True, "b streams");
        var before = await a.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(before.SynchronousStandbyNames, Is.EqualTo(""));
            Assert.That(before.ManagedSynchronousStandbyNames, Is.Null, "not managed until synchronous mode sets it");
            Assert.That(before.Replication.Single().SyncState, Is.EqualTo("async"));
        });

        var flush = await a.Controller.SetSynchronousStandbyNamesAsync("\"node-b\"", CancellationToken.None);
        Assert.That(flush, Is.GreaterThan(0), "a primary reports its flush position after applying the value");
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).Replication.Single() is { IsSync: true } r && r.FlushLsn >= flush, TimeSpan.FromSeconds(10)), Is.True,
            "the named standby is synchronous and catches up with the baseline");
        a.Execute("CREATE TABLE t AS SELECT 1 AS x"); // commits: b confirms them
        var named = await a.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(named.SynchronousStandbyNames, Is.EqualTo("\"node-b\""));
            Assert.That(named.ManagedSynchronousStandbyNames, Is.EqualTo("\"node-b\""));
        });

        // Restart of PostgreSQL and of the agent: the file keeps the value; and the configured parameters do not win.
        a.Restart();
        await a.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        await a.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await a.Controller.StartPrimaryAsync(CancellationToken.None);
        Assert.That((await a.StatusAsync()).SynchronousStandbyNames, Is.EqualTo("\"node-b\""));

        // Strict mode's '*' with no standby: a commit waits.
        await b.Controller.StopForDemoteAsync(DemoteMode.Immediate, CancellationToken.None);
        await a.Controller.SetSynchronousStandbyNamesAsync(SynchronousStandbyNames.AnyStandby, CancellationToken.None);
        using (var conn = a.Open())
        {
            await using var cmd = new Npgsql.NpgsqlCommand("INSERT INTO t VALUES (2)", conn);
            var insert = cmd.ExecuteNonQueryAsync();
            var finished = await Task.WhenAny(insert, Task.Delay(TimeSpan.FromSeconds(3), TimeProvider.System));
            Assert.That(finished, Is.Not.SameAs(insert), "with '*' and no standby a commit is not acknowledged");

            // Handing the setting back to the parameters removes PgHa's value, and the waiting commit completes.
            await a.Controller.SetSynchronousStandbyNamesAsync(null, CancellationToken.None);
            Assert.That(await insert.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System), Is.EqualTo(1));
        }
        var released = await a.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(released.SynchronousStandbyNames, Is.EqualTo(""));
            Assert.That(released.ManagedSynchronousStandbyNames, Is.Null);
        });
    }
}
