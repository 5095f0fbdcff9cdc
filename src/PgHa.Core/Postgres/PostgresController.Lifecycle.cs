using Npgsql;
using System.Diagnostics;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// Refuses while the write fence has tripped. A postmaster that already runs as a primary is kept (one that runs
    /// but does not answer yet is waited for); one running as a replica is an error. Otherwise pg_control must describe
    /// a primary and no standby.signal may be present; PgHa's postgresql.conf is written and <c>pg_ctl start -w</c>
    /// bounded by pg_ctl_timeout. Runs a pending post_bootstrap afterwards.
    /// </remarks>
    public async Task StartPrimaryAsync(CancellationToken cancellationToken)
    {
        RefuseIfFenceTripped("start PostgreSQL as a primary");
        if (LivePostmasterPid() is { } pid)
        {
            var primary = await WaitForPostmasterAsync(pid, cancellationToken).ConfigureAwait(false);
            if (primary == false && BootstrapRecovery() is not null)
            {
                await WaitForBootstrapRecoveryAsync(cancellationToken).ConfigureAwait(false);
                primary = true;
            }
            if (primary == false) throw new InvalidOperationException("PostgreSQL already runs as a replica; it must be promoted, not started as a primary");
            if (primary == true)
            {
                await RunPendingPostBootstrapAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        if (InspectDataDirectory() != DataDirectoryState.Initialized) throw new InvalidOperationException($"{DataDir} holds no initialized cluster");
        if (File.Exists(_files.StandbySignalPath)) throw new InvalidOperationException("the data directory is configured as a replica (standby.signal): refusing to start it as a primary");
        var control = await ReadControlDataAsync(cancellationToken).ConfigureAwait(false);
        // A custom bootstrap's restored backup runs its recovery first and becomes a primary at its end.
        var bootstrapRecovery = BootstrapRecovery();
        var recoveryFirst = bootstrapRecovery is not null
                            || (File.Exists(BootstrapMarkerPath) && File.Exists(Path.Combine(DataDir, "recovery.signal")));
        if (control.Role != PostgresRole.Primary && !recoveryFirst)
            throw new InvalidOperationException($"pg_control does not describe a primary (state '{control.ClusterState}')");
        _files.WritePassFile();
        _files.WritePostgresqlConf(bootstrapRecovery);
        SetUpstream(null);
        RefuseIfFenceTripped("start PostgreSQL as a primary");
        await StartPostmasterAsync("primary", recoveryFirst ? "bootstrapped cluster, recovery first"
            : control.IsCleanShutdown ? "stopped primary, in place" : $"crash recovery in place (pg_control: {control.ClusterState})", cancellationToken).ConfigureAwait(false);
        if (recoveryFirst) await WaitForBootstrapRecoveryAsync(cancellationToken).ConfigureAwait(false);
        await RunPendingPostBootstrapAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Refuses while the write fence has tripped. <c>pg_promote(wait => false)</c>, then <c>pg_is_in_recovery()</c>
    /// on the same connection every 10 ms until the server accepts writes (bounded by pg_ctl_timeout): pg_ctl promote -w
    /// and pg_promote(wait => true) look only every 100 ms, and a switchover's write outage lasts until the promotion is
    /// seen. Then CHECKPOINT: until it, pg_control keeps the old timeline, and pg_rewind from this node would misjudge.
    /// A server that already is a primary is left alone.
    /// </remarks>
    public async Task PromoteAsync(CancellationToken cancellationToken)
    {
        RefuseIfFenceTripped("promote");
        if (LivePostmasterPid() is null) throw new InvalidOperationException("PostgreSQL is not running: nothing to promote");
        lock (_gate) _basebackupOf = null;
        var started = Stopwatch.StartNew();
        await using (var connection = await OpenLocalAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await InRecoveryAsync(connection, cancellationToken).ConfigureAwait(false))
            {
                PostgresLog.Promoting(_logger);
                await using (var promote = new NpgsqlCommand("SELECT pg_catalog.pg_promote(false)", connection))
                {
                    if (await promote.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                        throw new InvalidOperationException("pg_promote() could not signal the postmaster");
                }
                var until = _time.GetUtcNow() + _options.PgCtlTimeout;
                while (await InRecoveryAsync(connection, cancellationToken).ConfigureAwait(false))
                {
                    if (_time.GetUtcNow() > until)
                        throw new InvalidOperationException($"the server did not leave recovery within pg_ctl_timeout ({_options.PgCtlTimeout.TotalSeconds:0} s) of pg_promote()");
                    await Task.Delay(TimeSpan.FromMilliseconds(10), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        SetUpstream(null);
        await ExecuteAsync("CHECKPOINT", cancellationToken).ConfigureAwait(false);
        var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        PostgresLog.Promoted(_logger, status.Timeline, started.Elapsed);
    }

    private static async Task<bool> InRecoveryAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var query = new NpgsqlCommand("SELECT pg_catalog.pg_is_in_recovery()", connection);
        return (bool)(await query.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Graceful: a CHECKPOINT first, while the server still takes writes, so the shutdown checkpoint that follows has
    /// almost nothing left to flush and the write outage of a switchover stays short (a failed CHECKPOINT only costs
    /// time, the stop goes ahead). Graceful and Offline then shut down fast (clients disconnected, shutdown checkpoint
    /// written and, before the postmaster exits, streamed to every connected replica); Immediate and ImmediateNoLock
    /// shut down immediately. Bounded by pg_ctl_timeout; when the postmaster does not exit in time, it and every child
    /// are killed with SIGKILL. A stopped server is left alone.
    /// </remarks>
    public async Task StopForDemoteAsync(DemoteMode mode, CancellationToken cancellationToken)
    {
        if (mode == DemoteMode.Graceful && LivePostmasterPid() is not null)
            await CheckpointBeforeStopAsync(cancellationToken).ConfigureAwait(false);
        await StopPostmasterAsync(mode is DemoteMode.Graceful or DemoteMode.Offline ? "fast" : "immediate", mode.ToString(), cancellationToken).ConfigureAwait(false);
    }

    private async Task CheckpointBeforeStopAsync(CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        try
        {
            await ExecuteAsync("CHECKPOINT", ct).ConfigureAwait(false);
            PostgresLog.CheckpointBeforeStop(_logger, started.Elapsed, "");
        }
        catch (Exception ex) when ((IsNotAnswering(ex) || ex is PostgresException) && !ct.IsCancellationRequested)
        {
            PostgresLog.CheckpointBeforeStop(_logger, started.Elapsed, $"; it failed ({ex.Message}), stopping anyway");
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Writes the deadline (on CLOCK_BOOTTIME) for the fencer process and starts that process when it is not running;
    /// returns once it runs, so a returned call is a promise kept even if this agent dies next.
    /// </remarks>
    public Task SetWriteFenceAsync(DateTimeOffset? until, CancellationToken cancellationToken) => _fence.SetAsync(until, cancellationToken);

    private void RefuseIfFenceTripped(string action)
    {
        if (!_fence.IsTripped()) return;
        PostgresLog.RefusedByFence(_logger, action);
        throw new InvalidOperationException($"the write fence has expired: refusing to {action}");
    }
}
