using System.Diagnostics;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>The controller notices a dead postmaster at once (pidfd), and not the ones it stopped itself.</summary>
public sealed class PostmasterDeathTests : PgTestBase
{
    [Test]
    public async Task Kill_9_of_the_postmaster_raises_PostmasterDied_at_once_but_a_requested_stop_does_not()
    {
        var node = Node("node-a");
        await node.StartNewPrimaryAsync();
        var died = new TaskCompletionSource<(int Pid, TimeSpan At)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new Stopwatch();
        node.Controller.PostmasterDied += (_, e) => died.TrySetResult((e.Pid, clock.Elapsed));

        var pid = node.PostmasterPid()!.Value;
        clock.Start();
        Posix.Signal(pid, Posix.SIGKILL);
        var winner = await Task.WhenAny(died.Task, Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System));
        Assert.That(winner, Is.SameAs(died.Task), "PostmasterDied raised");
        var (reported, at) = await died.Task;
        TestContext.Out.WriteLine($"PostmasterDied after {at.TotalMilliseconds:F1} ms");
        Assert.That(reported, Is.EqualTo(pid));
        Assert.That(at, Is.LessThan(TimeSpan.FromMilliseconds(500)));
        var status = await node.StatusAsync();
        Assert.That((status.IsRunning, status.Role), Is.EqualTo((false, PostgresRole.Primary)), "a crashed primary: pg_control says in production");

        // Restarted, then stopped on purpose: no event.
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Controller.PostmasterDied += (_, _) => second.TrySetResult();
        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        await node.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(400), TimeProvider.System);
        Assert.That(second.Task.IsCompleted, Is.False);
    }
}
