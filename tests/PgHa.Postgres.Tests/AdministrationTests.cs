namespace PgHa.Postgres.Tests;

/// <summary>Operator actions against real PostgreSQL 15 servers: dynamic parameters, pending_restart, restart, reinitialize.</summary>
public sealed class AdministrationTests : PgTestBase
{
    [Test]
    public async Task Parameters_apply_live_and_those_needing_a_restart_stay_pending_until_it()
    {
        var a = Node("node-a");
        await a.StartNewPrimaryAsync();
        Assert.That(await a.Controller.GetPendingRestartAsync(CancellationToken.None), Is.Empty);
        var sharedBuffersBefore = a.Scalar<string>("SHOW shared_buffers");

        var parameters = new Dictionary<string, string>(a.Options.Parameters) { ["work_mem"] = "7MB", ["shared_buffers"] = "24MB" };
        var pending = await a.Controller.ApplyParametersAsync(parameters, null, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(a.Scalar<string>("SHOW work_mem"), Is.EqualTo("7MB"), "a reloadable setting applies at once");
            Assert.That(pending.Select(p => p.Name), Is.EquivalentTo(new[] { "shared_buffers" }));
            Assert.That(pending.Single().OldValue, Is.EqualTo(sharedBuffersBefore));
            Assert.That(pending.Single().NewValue, Is.EqualTo("24MB"));
        });

        var pid = a.PostmasterPid();
        await a.Controller.RestartAsync(null, CancellationToken.None);
        var status = await a.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(a.PostmasterPid(), Is.Not.EqualTo(pid), "a new postmaster");
            Assert.That(status.IsRunningPrimary, Is.True, "a primary comes back as a primary");
            Assert.That(a.Scalar<string>("SHOW shared_buffers"), Is.EqualTo("24MB"));
        });
        Assert.That(await a.Controller.GetPendingRestartAsync(CancellationToken.None), Is.Empty);

        // Applying the same parameters again changes nothing and restarts nothing.
        Assert.That(await a.Controller.ApplyParametersAsync(parameters, null, CancellationToken.None), Is.Empty);
        Assert.That(() => a.Controller.ApplyParametersAsync(new Dictionary<string, string>(parameters) { ["port"] = "1" }, null, CancellationToken.None),
            Throws.ArgumentException.With.Message.Contains("port"), "PgHa owns port");
    }

    [Test]
    public async Task A_replica_restarts_as_a_replica_and_reinitialize_clones_it_afresh()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "streaming");

        await b.Controller.RestartAsync(a.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "streaming again after the restart");
        Assert.That((await b.StatusAsync()).Upstream, Is.EqualTo("node-a"));

        // A marker only the old copy has: a fresh clone does not carry it.
        var marker = Path.Combine(b.Options.DataDirectory, "pgha-test-marker");
        await File.WriteAllTextAsync(marker, "old copy");
        a.Execute("CREATE TABLE after_restart AS SELECT generate_series(1, 500) AS x");
        await b.Controller.ReinitializeAsync(a.Member, CancellationToken.None);
        Assert.That(File.Exists(marker), Is.False, "the data directory was wiped and cloned again");
        await b.Controller.FollowAsync(a.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True, "the new clone streams");
        Assert.That(await PgNode.WaitUntilAsync(() => b.Scalar<long>("SELECT count(*) FROM after_restart") == 500, TimeSpan.FromSeconds(10)), Is.True);
    }
}
