using System.Diagnostics;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>
/// The write fence against real PostgreSQL 15: once its deadline passes unmoved, a primary stops — with the agent gone
/// too — and start/promote refuse; re-arming or disarming in time keeps it running; replicas are never touched.
/// </summary>
public sealed class WriteFenceTests : PgTestBase
{
    [Test]
    public async Task An_expired_fence_stops_the_primary_within_a_second_even_with_the_agent_gone()
    {
        var node = Node("node-a");
        await node.StartNewPrimaryAsync();
        var fencer = node.Controller.FencerPid;
        Assert.That(fencer, Is.Not.Null);
        var pid = node.PostmasterPid()!.Value;

        var armed = Stopwatch.StartNew();
        await node.ArmFenceAsync(TimeSpan.FromSeconds(1));
        node.Controller.Dispose(); // the agent is gone: nobody moves the fence any more

        Assert.That(await PgNode.WaitUntilAsync(() => !Posix.IsAlive(pid), TimeSpan.FromSeconds(3)), Is.True, "postmaster stopped");
        var stoppedAfter = armed.Elapsed;
        TestContext.Out.WriteLine($"postmaster gone {stoppedAfter.TotalMilliseconds:F0} ms after arming a 1 s fence");
        Assert.That(stoppedAfter, Is.GreaterThan(TimeSpan.FromMilliseconds(900)), "not before the deadline");
        Assert.That(stoppedAfter, Is.LessThan(TimeSpan.FromSeconds(2)), "within deadline + 1 s");
        Assert.That(File.ReadAllText(Path.Combine(node.Options.EffectiveStateDirectory, "fencer.log")), Does.Contain("SIGQUIT"));

        // A restarted agent finds the fence tripped and the same fencer; start and promote refuse.
        var agent = node.Restart();
        Assert.That(agent.IsWriteFenceTripped, Is.True);
        Assert.That(agent.FencerPid, Is.EqualTo(fencer));
        var start = Assert.ThrowsAsync<InvalidOperationException>(() => agent.StartPrimaryAsync(CancellationToken.None));
        Assert.That(start!.Message, Does.Contain("write fence"));
        Assert.That(node.IsPostmasterAlive, Is.False);
        Assert.That((await node.StatusAsync()).IsRunning, Is.False);

        // A primary started behind PgHa's back while the fence is tripped is stopped too. (PostgreSQL refuses to start
        // while the killed postmaster is an unreaped zombie, which init here may take seconds to reap.)
        Assert.That(await PgNode.WaitUntilAsync(() => !Directory.Exists($"/proc/{pid}"), TimeSpan.FromSeconds(10)), Is.True);
        var rogueLog = Path.Combine(node.Options.EffectiveStateDirectory, "rogue.log");
        PgTestEnvironment.Run(Path.Combine(PgTestEnvironment.BinDirectory, "pg_ctl"), "start", "-D", node.Options.DataDirectory, "-W", "-l", rogueLog);
        Assert.That(await PgNode.WaitUntilAsync(() => File.Exists(rogueLog) && File.ReadAllText(rogueLog).Contains("received immediate shutdown request", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5)), Is.True, "rogue primary stopped by the fencer");
        Assert.That(await PgNode.WaitUntilAsync(() => !node.IsPostmasterAlive, TimeSpan.FromSeconds(3)), Is.True);

        // Re-armed (the lock was confirmed again): start works, with the same fencer.
        await node.ArmFenceAsync(TimeSpan.FromMinutes(5));
        Assert.That(agent.IsWriteFenceTripped, Is.False);
        await agent.StartPrimaryAsync(CancellationToken.None);
        Assert.That((await node.StatusAsync()).IsRunningPrimary, Is.True);
        Assert.That(agent.FencerPid, Is.EqualTo(fencer));
    }

    [Test]
    public async Task A_frozen_postmaster_and_its_backends_are_killed_one_second_after_the_SIGQUIT()
    {
        var node = Node("node-a");
        await node.StartNewPrimaryAsync();
        var pid = node.PostmasterPid()!.Value;
        using var client = node.Open();
        var backend = client.ProcessID;
        Posix.Signal(pid, 19); // SIGSTOP: the postmaster cannot act on SIGQUIT
        try
        {
            var armed = Stopwatch.StartNew();
            await node.ArmFenceAsync(TimeSpan.FromMilliseconds(500));
            Assert.That(await PgNode.WaitUntilAsync(() => !Posix.IsAlive(pid) && !Posix.IsAlive(backend), TimeSpan.FromSeconds(4)), Is.True);
            TestContext.Out.WriteLine($"frozen postmaster and backend gone {armed.ElapsedMilliseconds} ms after arming a 0.5 s fence");
            Assert.That(armed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2.5)));
            Assert.That(File.ReadAllText(Path.Combine(node.Options.EffectiveStateDirectory, "fencer.log")), Does.Contain("SIGKILL"));
        }
        finally
        {
            Posix.Signal(pid, 18);
        }
    }

    [Test]
    public async Task Moving_the_fence_in_time_or_disarming_it_keeps_the_primary_running()
    {
        var node = Node("node-a");
        await node.StartNewPrimaryAsync();
        var pid = node.PostmasterPid()!.Value;

        // Renewed every 300 ms, 1 s ahead, for 3 s (three times the fence's length).
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            await node.ArmFenceAsync(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        }
        Assert.That(Posix.IsAlive(pid), Is.True, "re-armed in time");

        // A fencer that died is replaced by the next arming.
        var fencer = node.Controller.FencerPid!.Value;
        Posix.Signal(fencer, Posix.SIGKILL);
        Assert.That(await PgNode.WaitUntilAsync(() => !Posix.IsAlive(fencer), TimeSpan.FromSeconds(2)), Is.True);
        Assert.That(node.Controller.FencerPid, Is.Null);
        await node.ArmFenceAsync(TimeSpan.FromSeconds(1));
        Assert.That(node.Controller.FencerPid, Is.Not.Null.And.Not.EqualTo(fencer));

        await node.ArmFenceAsync(TimeSpan.FromSeconds(1));
        await node.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(1500), TimeProvider.System);
        Assert.That(Posix.IsAlive(pid), Is.True, "disarmed");
        Assert.That(node.Controller.IsWriteFenceTripped, Is.False);
        Assert.That((await node.StatusAsync()).IsRunningPrimary, Is.True);
    }

    [Test]
    public async Task A_tripped_fence_leaves_a_replica_running_and_refuses_to_promote_it()
    {
        var a = Node("node-a");
        var b = Node("node-b");
        await a.StartNewPrimaryAsync();
        await b.StartReplicaOfAsync(a);
        var pid = b.PostmasterPid()!.Value;

        await b.ArmFenceAsync(TimeSpan.FromSeconds(-1));
        Assert.That(b.Controller.IsWriteFenceTripped, Is.True);
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.That(Posix.IsAlive(pid), Is.True, "a replica accepts no writes: the fence leaves it alone");

        var promote = Assert.ThrowsAsync<InvalidOperationException>(() => b.Controller.PromoteAsync(CancellationToken.None));
        Assert.That(promote!.Message, Does.Contain("write fence"));
        Assert.That((await b.StatusAsync()).Role, Is.EqualTo(PostgresRole.Replica));
        Assert.That(b.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.RefusedByFence), Is.True);

        // Armed again: the promotion goes through, and the fence now guards the new primary.
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        Assert.That((await b.StatusAsync()).IsRunningPrimary, Is.True);
        await b.ArmFenceAsync(TimeSpan.FromMilliseconds(300));
        Assert.That(await PgNode.WaitUntilAsync(() => !Posix.IsAlive(pid), TimeSpan.FromSeconds(2)), Is.True, "the promoted primary is fenced");
    }
}
