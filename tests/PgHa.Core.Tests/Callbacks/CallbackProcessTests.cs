using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NUnit.Framework;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Postgres;

namespace PgHa.Core.Tests.Callbacks;

/// <summary>
/// Real processes: small sh scripts started by the runner and the executor, checked for the arguments they got, their
/// exit status, and that a hanging one is killed together with everything it spawned.
/// </summary>
[TestFixture, NonParallelizable, System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CallbackProcessTests
{
    // Only a bound for waiting on the operating system (process exit, a file written); never an expected duration.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private string _dir = null!;
    private FakeLogger<PostgresCallbacks> _log = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pgha-callbacks-").FullName;
        _log = new FakeLogger<PostgresCallbacks>();
    }

    [TearDown]
    public void TearDown()
    {
        // Anything a failed test left running: every pid file the scripts wrote.
        foreach (var file in Directory.EnumerateFiles(_dir, "*.pid"))
            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid)) Posix.Signal(pid, Posix.SIGKILL);
        Directory.Delete(_dir, recursive: true);
    }

    private string Script(string name, string body)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private PostgresCallbacks Callbacks(CallbackOptions options) => new(options, TimeProvider.System, _log);

    private static async Task<int> PidFromAsync(string file)
    {
        var until = TimeProvider.System.GetUtcNow() + Patience;
        while (TimeProvider.System.GetUtcNow() < until)
        {
            if (File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out var pid)) return pid;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        throw new AssertionException($"{file} was never written");
    }

    private static async Task<bool> GoneAsync(int pid)
    {
        var until = TimeProvider.System.GetUtcNow() + Patience;
        while (Posix.IsAlive(pid))
        {
            if (TimeProvider.System.GetUtcNow() > until) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return true;
    }

    [Test]
    public async Task ACallbackGetsItsOwnArgumentsThenActionRoleAndScope()
    {
        var args = Path.Combine(_dir, "args");
        var script = Script("cb.sh", $"for a in \"$@\"; do printf '%s|' \"$a\" >> '{args}'; done");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", OnRoleChange = $"{script} 'first arg' second" });

        var outcome = await callbacks.Call(CallbackAction.OnRoleChange, MemberRole.Promoted)!.WaitAsync(Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(File.ReadAllText(args), Is.EqualTo("first arg|second|on_role_change|master|batman|"));
            Assert.That(outcome.Succeeded, Is.True, outcome.Describe());
            Assert.That(_log.Collector.GetSnapshot().Select(r => r.Id.Id), Is.SupersetOf(new[] { CallbackEventId.Started, CallbackEventId.Exited }));
        }
    }

    [Test]
    public void AnActionWithoutACommandRunsNothing()
    {
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", OnStart = "/bin/true" });
        Assert.That(callbacks.Call(CallbackAction.OnStop, MemberRole.Replica), Is.Null);
    }

    [Test]
    public async Task ANewCallbackKillsTheStillRunningPreviousOneWithItsChildren()
    {
        var child = Path.Combine(_dir, "child.pid");
        var slow = Script("slow.sh", $"sleep 1000 & echo $! > '{child}'\nwait");
        var done = Path.Combine(_dir, "done");
        var quick = Script("quick.sh", $"echo \"$1 $2\" > '{done}'");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", OnStart = slow, OnRoleChange = quick });

        var first = callbacks.Call(CallbackAction.OnStart, MemberRole.Replica)!;
        var childPid = await PidFromAsync(child);
        var second = callbacks.Call(CallbackAction.OnRoleChange, MemberRole.Primary)!;

        var killed = await first.WaitAsync(Patience);
        var ran = await second.WaitAsync(Patience);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(killed.Killed, Is.True, killed.Describe());
            Assert.That(await GoneAsync(childPid), Is.True, "the killed callback's child must die with it");
            Assert.That(ran.Succeeded, Is.True, ran.Describe());
            Assert.That(File.ReadAllText(done).Trim(), Is.EqualTo("on_role_change master"));
            Assert.That(_log.Collector.GetSnapshot().Count(r => r.Id.Id == CallbackEventId.Killed), Is.EqualTo(1));
        }
    }

    [Test]
    public async Task OnReloadRunsBesideARunningRoleChangeInsteadOfKillingIt()
    {
        var release = Path.Combine(_dir, "release");
        var waiting = Script("wait.sh", $"while [ ! -e '{release}' ]; do sleep 0.05; done");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", OnRoleChange = waiting, OnReload = "/bin/true" });

        var roleChange = callbacks.Call(CallbackAction.OnRoleChange, MemberRole.Primary)!;
        var reload = await callbacks.Call(CallbackAction.OnReload, MemberRole.Primary)!.WaitAsync(Patience);
        File.WriteAllText(release, "");
        var outcome = await roleChange.WaitAsync(Patience);

        Assert.That(reload.Succeeded && outcome.Succeeded, Is.True, $"{reload.Describe()}; {outcome.Describe()}");
    }

    [Test]
    public async Task AHangingPrePromoteIsKilledAtItsBoundWithItsWholeProcessGroup()
    {
        var child = Path.Combine(_dir, "child.pid");
        var orphan = Path.Combine(_dir, "orphan.pid");
        // The orphan is reparented away at once (its parent subshell exits), so only the process group still finds it.
        var hang = Script("hang.sh", $"sleep 1000 & echo $! > '{child}'\n( sleep 1000 & echo $! > '{orphan}' )\nwait");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", PrePromote = hang });

        var run = callbacks.RunPrePromoteAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        var childPid = await PidFromAsync(child);
        var orphanPid = await PidFromAsync(orphan);
        var outcome = await run.WaitAsync(Patience);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcome, Is.Not.Null);
            Assert.That(outcome!.Killed, Is.True, outcome.Describe());
            Assert.That(outcome.Succeeded, Is.False);
            Assert.That(await GoneAsync(childPid), Is.True, "the script's child must be killed");
            Assert.That(await GoneAsync(orphanPid), Is.True, "a reparented grandchild in the group must be killed");
            Assert.That(_log.Collector.GetSnapshot().Single(r => r.Id.Id == CallbackEventId.Killed).Message, Does.Contain("pre_promote"));
        }
    }

    [Test]
    public async Task PrePromoteReportsItsExitStatusAndGetsNoExtraArguments()
    {
        var args = Path.Combine(_dir, "args");
        var refuse = Script("refuse.sh", $"echo \"$#\" > '{args}'\nexit 3");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", PrePromote = refuse, BeforeStop = "/bin/true" });

        var refused = await callbacks.RunPrePromoteAsync(Patience, CancellationToken.None);
        var beforeStop = await callbacks.RunBeforeStopAsync(Patience, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused!.ExitCode, Is.EqualTo(3));
            Assert.That(refused.Succeeded, Is.False);
            Assert.That(File.ReadAllText(args).Trim(), Is.EqualTo("0"));
            Assert.That(beforeStop!.Succeeded, Is.True, beforeStop.Describe());
            var exited = _log.Collector.GetSnapshot().Where(r => r.Id.Id == CallbackEventId.Exited).ToList();
            Assert.That(exited.Select(r => r.Level), Is.EqualTo(new[] { LogLevel.Warning, LogLevel.Information }));
        }
    }

    [Test]
    public async Task ACancelledWaitKillsTheHook()
    {
        var pidFile = Path.Combine(_dir, "self.pid");
        var hang = Script("hang.sh", $"echo $$ > '{pidFile}'\nexec sleep 1000");
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", BeforeStop = hang });
        using var cts = new CancellationTokenSource();

        var run = callbacks.RunBeforeStopAsync(Patience, cts.Token);
        var pid = await PidFromAsync(pidFile);
        await cts.CancelAsync();

        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await GoneAsync(pid), Is.True);
    }

    [Test]
    public async Task AMissingProgramIsReportedNotThrown()
    {
        var callbacks = Callbacks(new CallbackOptions { Scope = "batman", PrePromote = Path.Combine(_dir, "missing.sh") });

        var outcome = await callbacks.RunPrePromoteAsync(Patience, CancellationToken.None);

        Assert.That(outcome!.Succeeded, Is.False);
        Assert.That(outcome.Error, Does.Contain("no such file"));
        Assert.That(_log.Collector.GetSnapshot().Select(r => r.Id.Id), Does.Contain(CallbackEventId.NotStarted));
    }
}
