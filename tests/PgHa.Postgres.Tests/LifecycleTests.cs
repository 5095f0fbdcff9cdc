using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>Bootstrap, start, status, stop modes and data-directory states against a real PostgreSQL 15.</summary>
public sealed class LifecycleTests : PgTestBase
{
    [Test]
    public async Task Bootstrap_leaves_a_stopped_primary_that_starts_on_timeline_1_and_runs_post_bootstrap()
    {
        string? marker = null;
        var node = Node("node-a", o =>
        {
            var script = Path.Combine(Path.GetDirectoryName(o.DataDirectory)!, "post-bootstrap.sh");
            marker = script + ".ran";
            File.WriteAllText(script, $"#!/bin/sh\necho \"$1\" > '{marker}'\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            o.PostBootstrap = script;
        });
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Empty));

        await node.Controller.BootstrapAsync(CancellationToken.None);
        var stopped = await node.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(stopped.DataDirectory, Is.EqualTo(DataDirectoryState.Initialized));
            Assert.That(stopped.IsRunning, Is.False);
            Assert.That(stopped.Role, Is.EqualTo(PostgresRole.Primary), "pg_controldata: shut down");
            Assert.That(stopped.Timeline, Is.EqualTo(1));
            Assert.That(stopped.SystemId, Does.Match("^[0-9]{10,}$"));
            Assert.That(node.IsPostmasterAlive, Is.False);
            Assert.That(File.Exists(marker), Is.False, "post_bootstrap runs after the first start, not before");
        });

        await node.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        var running = await node.StatusAsync();
        Assert.Multiple(() =>
        {
            Assert.That(running.IsRunning, Is.True);
            Assert.That(running.IsRunningPrimary, Is.True);
            Assert.That(running.Timeline, Is.EqualTo(1));
            Assert.That(running.Lsn, Is.GreaterThan(0));
            Assert.That(running.SystemId, Is.EqualTo(stopped.SystemId));
            Assert.That(running.Upstream, Is.Null);
            Assert.That(node.Scalar<string>("SHOW cluster_name"), Is.EqualTo("pgha-test"));
            Assert.That(node.Scalar<string>("SHOW wal_log_hints"), Is.EqualTo("on"));
            Assert.That(node.Scalar<string>("SHOW hot_standby"), Is.EqualTo("on"));
            Assert.That(File.Exists(Path.Combine(node.Options.DataDirectory, "postgresql.base.conf")), Is.True);
            Assert.That(File.ReadAllText(marker!).Trim(), Does.StartWith("postgres://postgres@"));
        });

        // Starting a running primary again is a no-op; the LSN moves with writes.
        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        node.Execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
        Assert.That((await node.StatusAsync()).Lsn, Is.GreaterThan(running.Lsn));
    }

    [Test]
    public async Task Graceful_stop_is_a_clean_shutdown_and_immediate_stop_leaves_crash_recovery_to_do()
    {
        var node = Node("node-a");
        await node.StartNewPrimaryAsync();

        await node.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        Assert.That(node.IsPostmasterAlive, Is.False);
        Assert.That(ControlState(node), Is.EqualTo("shut down"));
        var stopped = await node.StatusAsync();
        Assert.That((stopped.IsRunning, stopped.Role, stopped.Timeline), Is.EqualTo((false, PostgresRole.Primary, 1)));

        await node.Controller.StopForDemoteAsync(DemoteMode.Offline, CancellationToken.None); // already stopped: no-op

        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        await node.Controller.StopForDemoteAsync(DemoteMode.ImmediateNoLock, CancellationToken.None);
        Assert.That(node.IsPostmasterAlive, Is.False);
        Assert.That(ControlState(node), Is.EqualTo("in production"), "immediate: no shutdown checkpoint");
        Assert.That((await node.StatusAsync()).Role, Is.EqualTo(PostgresRole.Primary));

        // A crashed primary restarts in place (crash recovery) while the fence allows it.
        await node.Controller.StartPrimaryAsync(CancellationToken.None);
        Assert.That((await node.StatusAsync()).IsRunningPrimary, Is.True);
        await node.Controller.StopForDemoteAsync(DemoteMode.Offline, CancellationToken.None);
        Assert.That(ControlState(node), Is.EqualTo("shut down"));
    }

    [Test]
    public async Task Stop_kills_a_postmaster_that_pg_ctl_cannot_stop()
    {
        var node = Node("node-a", o => o.PgCtlTimeout = TimeSpan.FromSeconds(1));
        await node.StartNewPrimaryAsync();
        var pid = node.PostmasterPid()!.Value;
        Posix.Signal(pid, 19); // SIGSTOP: the postmaster ignores pg_ctl's signal until it is killed
        try
        {
            await node.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
            Assert.That(Posix.IsAlive(pid), Is.False);
            Assert.That(node.Logger.Collector.GetSnapshot().Any(r => r.Id.Id == PostgresEventId.Killed), Is.True);
        }
        finally
        {
            Posix.Signal(pid, 18);
        }
    }

    [Test]
    public async Task Data_directory_states_and_refusals()
    {
        var node = Node("node-a");
        var data = node.Options.DataDirectory;
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Empty), "missing");
        Directory.CreateDirectory(data);
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Empty), "empty");

        File.WriteAllText(Path.Combine(data, "notes.txt"), "not a database");
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Unusable), "foreign file");
        var foreign = Assert.ThrowsAsync<InvalidOperationException>(() => node.Controller.BootstrapAsync(CancellationToken.None));
        Assert.That(foreign!.Message, Does.Contain("does not look like a PostgreSQL data directory"));
        Assert.That(File.Exists(Path.Combine(data, "notes.txt")), Is.True, "foreign files are never removed");

        File.Delete(Path.Combine(data, "notes.txt"));
        File.WriteAllText(Path.Combine(data, "PG_VERSION"), "15\n");
        Directory.CreateDirectory(Path.Combine(data, "base"));
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Unusable), "half-copied: no pg_control");
        Assert.ThrowsAsync<InvalidOperationException>(() => node.Controller.StartPrimaryAsync(CancellationToken.None));

        // A half-made PostgreSQL directory is replaced by bootstrap.
        await node.Controller.BootstrapAsync(CancellationToken.None);
        Assert.That((await node.StatusAsync()).DataDirectory, Is.EqualTo(DataDirectoryState.Initialized));
        var again = Assert.ThrowsAsync<InvalidOperationException>(() => node.Controller.BootstrapAsync(CancellationToken.None));
        Assert.That(again!.Message, Does.Contain("already holds an initialized cluster"));
    }

    private static string ControlState(PgNode node) =>
        PgControlData.Parse(PgTestEnvironment.Run(Path.Combine(PgTestEnvironment.BinDirectory, "pg_controldata"), "-D", node.Options.DataDirectory)).ClusterState!;
}
