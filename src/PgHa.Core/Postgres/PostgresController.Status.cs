using System.Collections.Immutable;
using System.Globalization;
using Npgsql;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    // One round trip. pg_control_checkpoint() lags right after a promotion (until the next checkpoint), so a primary's
    // timeline comes from the name of its current WAL file; a replica's from the WAL receiver, else the newest seen
    // for this postmaster, else its last restartpoint.
    private const string StatusSql = """
        SELECT s.system_identifier::text,
               r.rec,
               CASE WHEN r.rec THEN NULL ELSE pg_walfile_name(pg_current_wal_flush_lsn()) END,
               CASE WHEN r.rec
                    THEN pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0')::bigint
                    ELSE pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint END,
               CASE WHEN r.rec THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint END,
               w.received_tli,
               w.status,
               (SELECT timeline_id FROM pg_control_checkpoint()),
               CASE WHEN r.rec THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint END,
               pg_postmaster_start_time(),
               current_setting('server_version_num')::int,
               current_setting('synchronous_standby_names')
          FROM pg_control_system() s
         CROSS JOIN (SELECT pg_is_in_recovery() AS rec) r
          LEFT JOIN pg_stat_wal_receiver w ON true
        """;

    /// <summary>What one status query of a running server returned.</summary>
    /// <remarks>
    /// <see cref="ReceivedTimeline"/> (the WAL receiver's, 0 without one) and <see cref="RestartpointTimeline"/> are a
    /// standby's two views of its timeline; <see cref="Timeline"/> is the newer one, which lags the timeline really
    /// replayed while no WAL receiver runs (the divergence check asks IDENTIFY_SYSTEM instead).
    /// </remarks>
    private sealed record RunningState(string SystemId, bool InRecovery, int Timeline, long Lsn, long ReplayLsn, bool Streaming,
        long? ReceiveLsn, DateTimeOffset StartedAt, int ServerVersion, string SynchronousStandbyNames, ImmutableArray<ReplicationConnection> Replication,
        int ReceivedTimeline, int RestartpointTimeline);

    /// <inheritdoc />
    /// <remarks>
    /// "PostgreSQL is down" is a status, not an error: this throws only when it cannot observe at all (pg_controldata
    /// fails on an initialized data directory, authentication is refused).
    /// </remarks>
    public async Task<PostgresStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        var state = InspectDataDirectory();
        if (state != DataDirectoryState.Initialized) return new PostgresStatus { DataDirectory = state };

        if (LivePostmasterPid() is { } pid)
        {
            try
            {
                var running = await QueryRunningAsync(cancellationToken).ConfigureAwait(false);
                _watcher.Watch(pid);
                var role = running.InRecovery ? PostgresRole.Replica : PostgresRole.Primary;
                return new PostgresStatus
                {
                    DataDirectory = state,
                    SystemId = running.SystemId,
                    IsRunning = true,
                    Role = role,
                    Timeline = running.Timeline,
                    Lsn = running.Lsn,
                    Upstream = role == PostgresRole.Replica ? Upstream : null,
                    IsStreaming = running.Streaming,
                    ReceivedLsn = running.InRecovery ? running.ReceiveLsn ?? running.ReplayLsn : null,
                    ReplayedLsn = running.InRecovery ? running.ReplayLsn : null,
                    PostmasterStartTime = running.StartedAt,
                    ServerVersion = running.ServerVersion,
                    SynchronousStandbyNames = running.SynchronousStandbyNames,
                    ManagedSynchronousStandbyNames = ReadManagedSynchronousStandbyNames(),
                    Replication = running.Replication,
                };
            }
            catch (Exception ex) when (IsNotAnswering(ex) && !cancellationToken.IsCancellationRequested)
            {
                PostgresLog.NotAnswering(_logger, pid, ex.Message);
            }
        }

        var control = await ReadControlDataAsync(cancellationToken).ConfigureAwait(false);
        var (timeline, lsn) = control.LocalPosition;
        return new PostgresStatus
        {
            DataDirectory = state,
            SystemId = control.SystemId,
            IsRunning = false,
            // standby.signal decides what a start makes of it: a fresh clone's pg_control still says "in production".
            Role = File.Exists(_files.StandbySignalPath) ? PostgresRole.Replica : control.Role,
            Timeline = timeline,
            Lsn = lsn,
            ManagedSynchronousStandbyNames = ReadManagedSynchronousStandbyNames(),
        };
    }

    private async Task<RunningState> QueryRunningAsync(CancellationToken ct)
    {
        await using var conn = await OpenLocalAsync(ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(StatusSql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false)) throw new InvalidOperationException("the status query returned no row");
        var systemId = reader.GetString(0);
        var inRecovery = reader.GetBoolean(1);
        var lsn = reader.IsDBNull(3) ? 0 : reader.GetInt64(3);
        var replay = reader.IsDBNull(4) ? 0 : reader.GetInt64(4);
        var receivedTli = reader.IsDBNull(5) ? 0 : reader.GetInt32(5);
        var streaming = !reader.IsDBNull(6) && reader.GetString(6) == "streaming";
        var checkpointTli = reader.IsDBNull(7) ? 0 : reader.GetInt32(7);
        long? receive = reader.IsDBNull(8) ? null : reader.GetInt64(8);
        var startedAt = reader.GetFieldValue<DateTimeOffset>(9);
        int timeline;
        if (!inRecovery)
        {
            var walFile = reader.GetString(2);
            timeline = int.Parse(walFile.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        else
        {
            timeline = Math.Max(receivedTli, checkpointTli);
            lock (_gate)
            {
                if (_replicaTimelineSeen is { } seen && seen.PostmasterStart == startedAt) timeline = Math.Max(timeline, seen.Timeline);
                _replicaTimelineSeen = (startedAt, timeline);
            }
        }
        var version = reader.GetInt32(10);
        var syncNames = reader.IsDBNull(11) ? "" : reader.GetString(11);
        await reader.DisposeAsync().ConfigureAwait(false);
        var replication = inRecovery ? ImmutableArray<ReplicationConnection>.Empty : await QueryReplicationAsync(conn, ct).ConfigureAwait(false);
        return new RunningState(systemId, inRecovery, timeline, lsn, replay, inRecovery && streaming, receive, startedAt, version, syncNames, replication,
            receivedTli, checkpointTli);
    }
}
