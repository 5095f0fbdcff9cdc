using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Npgsql.Replication;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Refuses a running primary. Writes standby.signal and a postgresql.conf with <c>primary_conninfo</c> (replication
    /// user, password inline or through the passfile, <c>application_name</c> = this member),
    /// <c>primary_slot_name</c> = <see cref="ReplicationSlotNames.ForMember"/>(this member) and
    /// <c>recovery_target_timeline = 'latest'</c>; reloads a running replica (PostgreSQL 13+ re-reads
    /// primary_conninfo on reload) or starts a stopped one with <c>pg_ctl start -w</c>.
    /// </para>
    /// <para>
    /// Divergence (Patroni's method, <c>_check_timeline_and_lsn</c>): the upstream's timeline and its history file
    /// (read with the rewind credentials), judged by <see cref="RewindCheck"/> against the local timeline and position:
    /// pg_controldata's for a stopped server; for a running replica its replay position and the timeline
    /// <c>IDENTIFY_SYSTEM</c> reports over a replication connection to itself (TCP, replication credentials: pg_hba.conf
    /// must let the replication user in from the local address, as Patroni's does; without it, the WAL receiver's
    /// timeline or the last restartpoint's stands in). A standby upstream (a leader whose promotion is still running)
    /// is judged on its IDENTIFY_SYSTEM timeline and position, waiting a little for the promotion when it is behind.
    /// A diverged data directory is rewound with pg_rewind when use_pg_rewind is on (a former primary stopped before
    /// the fork point is handed to pg_rewind too, which reports "no rewind required" when its shutdown checkpoint is
    /// the fork point). When rewind is off or fails and
    /// remove_data_directory_on_rewind_failure is on, the data directory is wiped and cloned afresh; otherwise it starts
    /// as it is (it will not stream) and the rewind is not retried until the upstream's timeline changes. When the
    /// check itself is impossible (upstream unreachable), it follows without rewind.
    /// </para>
    /// </remarks>
    public async Task FollowAsync(Member? upstream, CancellationToken cancellationToken)
    {
        if (InspectDataDirectory() != DataDirectoryState.Initialized) throw new InvalidOperationException($"{DataDir} holds no initialized cluster");
        var running = false;
        if (LivePostmasterPid() is { } pid)
        {
            var primary = await WaitForPostmasterAsync(pid, cancellationToken).ConfigureAwait(false);
            if (primary == true) throw new InvalidOperationException("refusing to reconfigure a running primary as a replica (demote it first)");
            running = primary == false;
        }

        string? host = null;
        int? port = null;
        if (upstream is not null)
        {
            (host, port) = Endpoint(upstream);
            // A fresh pg_basebackup of this very upstream cannot have diverged from it, and skipping the check spares a
            // connection to it: with password authentication the first one loads OpenSSL for SCRAM (3.8 MiB resident
            // for the agent's lifetime).
            string? basebackupOf;
            lock (_gate) (basebackupOf, _basebackupOf) = (_basebackupOf, null);
            DivergenceCheck? check = null;
            if (basebackupOf == upstream.Name) PostgresLog.DivergenceCheckSkipped(_logger, upstream.Name);
            else check = await CheckDivergenceAsync(upstream, host, port.Value, running, cancellationToken).ConfigureAwait(false);
            if (check is { Need: not RewindNeed.NotNeeded } c)
            {
                bool failedBefore;
                lock (_gate) failedBefore = _rewindFailed == (upstream.Name, c.UpstreamTimeline);
                if (!failedBefore)
                {
                    if (running)
                    {
                        await StopPostmasterAsync("fast", "rewind", cancellationToken).ConfigureAwait(false);
                        running = false;
                    }
                    await RewindOrReinitAsync(upstream, host, port.Value, c, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        var recovery = upstream is null
            ? new RecoverySettings(null, null)
            : new RecoverySettings(_files.PrimaryConnInfo(host!, port!.Value), ReplicationSlotNames.ForMember(_options.MemberName));
        _files.WritePassFile();
        _files.WriteStandbySignal();
        _files.WritePostgresqlConf(recovery);
        SetUpstream(upstream?.Name);
        var slot = recovery.PrimarySlotName;
        if (running)
        {
            await ExecuteAsync("SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
            PostgresLog.Following(_logger, upstream?.Name ?? "nobody", host, port, slot, "reloaded the running replica");
        }
        else
        {
            PostgresLog.Following(_logger, upstream?.Name ?? "nobody", host, port, slot, "starting it");
            await StartPostmasterAsync("replica", upstream is null ? "no upstream to follow yet" : "following " + upstream.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed record DivergenceCheck(RewindNeed Need, int UpstreamTimeline, string Reason);

    /// <summary>How long the divergence check waits for a standby upstream (a leader being promoted) to get a fork point.</summary>
    private static readonly TimeSpan UpstreamPromotionWait = TimeSpan.FromSeconds(10);

    private async Task<DivergenceCheck?> CheckDivergenceAsync(Member upstream, string host, int port, bool running, CancellationToken ct)
    {
        int localTimeline;
        long localLsn;
        bool inRecovery;
        string systemId;
        string timelineSource;
        if (running)
        {
            // The timeline first, then the replay position: a timeline switch in between can only make the pair look
            // further along (a needless pg_rewind), never less (a missed divergence).
            var (identified, identifyError) = await IdentifyReplayTimelineAsync(ct).ConfigureAwait(false);
            var state = await QueryRunningAsync(ct).ConfigureAwait(false);
            LocalTimelineSource source;
            (localTimeline, source) = RewindCheck.RunningReplicaTimeline(identified, state.Streaming ? state.ReceivedTimeline : null, state.RestartpointTimeline);
            if (identifyError is not null)
            {
                PostgresLog.LocalTimelineFallback(_logger, identifyError, source == LocalTimelineSource.WalReceiver ? "streaming WAL receiver's" : "last restartpoint's",
                    localTimeline, _listen.LocalConnectHost, _options.Replication.Username);
            }
            timelineSource = source switch
            {
                LocalTimelineSource.IdentifySystem => "IDENTIFY_SYSTEM",
                LocalTimelineSource.WalReceiver => "WAL receiver",
                _ => "last restartpoint",
            };
            (localLsn, inRecovery, systemId) = (state.ReplayLsn, true, state.SystemId);
        }
        else
        {
            var control = await ReadControlDataAsync(ct).ConfigureAwait(false);
            (localTimeline, localLsn) = control.LocalPosition;
            inRecovery = control.Role == PostgresRole.Replica;
            systemId = control.SystemId ?? "";
            timelineSource = "pg_controldata";
        }
        if (localTimeline <= 0) return null;

        // A leader is elected before it is promoted: while it is still a standby that has not got as far as this data
        // directory, its fork point is not known yet. Patroni checks again a cycle later; this waits for the promotion.
        var waitUntil = _time.GetUtcNow() + UpstreamPromotionWait;
        var waiting = false;
        UpstreamTimeline up;
        RewindVerdict assessed;
        while (true)
        {
            try
            {
                up = await ReadUpstreamTimelineAsync(upstream, host, port, systemId, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsNotAnswering(ex) && !ct.IsCancellationRequested)
            {
                PostgresLog.DivergenceUnknown(_logger, upstream.Name, ex.Message);
                return null;
            }
            if (up.Unknown is not null)
            {
                PostgresLog.DivergenceUnknown(_logger, upstream.Name, up.Unknown);
                return null;
            }
            assessed = RewindCheck.Assess(localTimeline, localLsn, inRecovery, up.Timeline, up.History, up.StandbyLsn);
            if (assessed.Need != RewindNeed.Undecided) break;
            if (_time.GetUtcNow() >= waitUntil)
            {
                PostgresLog.DivergenceUnknown(_logger, upstream.Name, $"{assessed.Reason}, still after {UpstreamPromotionWait.TotalSeconds:0} s");
                return null;
            }
            if (!waiting) PostgresLog.WaitingForUpstreamPromotion(_logger, upstream.Name, assessed.Reason, UpstreamPromotionWait);
            waiting = true;
            await Task.Delay(TimeSpan.FromMilliseconds(250), _time, ct).ConfigureAwait(false);
        }
        var (need, reason) = assessed;
        var (upstreamTimeline, history) = (up.Timeline, up.History ?? []);
        var verdict = need switch
        {
            RewindNeed.NotNeeded => "can follow as it is",
            RewindNeed.Needed => "diverged",
            _ => "former primary stopped before the fork point; pg_rewind decides",
        };
        // A former primary whose shutdown checkpoint record ends exactly at the fork point (a clean switchover: the
        // candidate received that record and branched right after it) has not diverged; reading the record's end with
        // pg_waldump, as Patroni does, spares it a pg_rewind run.
        if (need == RewindNeed.AskPgRewind && !running && history.FirstOrDefault(e => e.Timeline == localTimeline) is { } fork
            && await ShutdownCheckpointEndAsync(localTimeline, localLsn, ct).ConfigureAwait(false) is { } end)
        {
            if (end == fork.SwitchLsn)
            {
                need = RewindNeed.NotNeeded;
                verdict = $"former primary whose shutdown checkpoint ends at the fork point {Lsn.Format(end)}: can follow as it is";
            }
            else verdict = $"former primary whose shutdown checkpoint ends at {Lsn.Format(end)}, not at the fork point {Lsn.Format(fork.SwitchLsn)}; pg_rewind decides";
        }
        PostgresLog.DivergenceChecked(_logger, upstream.Name, localTimeline, timelineSource, Lsn.Format(localLsn), inRecovery, upstreamTimeline, reason, verdict);
        return new DivergenceCheck(need, upstreamTimeline, reason);
    }

    /// <summary>
    /// The timeline this running standby replays on, from <c>IDENTIFY_SYSTEM</c> over a replication connection to
    /// itself (Patroni's <c>get_replica_timeline</c>): on a standby it reports the timeline of the last replayed
    /// record, which SQL shows nowhere (<c>received_tli</c> needs a WAL receiver; <c>pg_control_checkpoint()</c> is
    /// the last restartpoint's). Over TCP with the replication credentials, like the peers that stream from this
    /// server, because pg_hba's <c>local all</c> lines do not cover replication. Null and the reason when it fails.
    /// </summary>
    private async Task<(int? Timeline, string? Error)> IdentifyReplayTimelineAsync(CancellationToken ct)
    {
        try
        {
            var identity = await IdentifySystemAsync(_listen.LocalConnectHost, _listen.Port, ct).ConfigureAwait(false);
            return ((int)identity.Timeline, null);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException && !ct.IsCancellationRequested)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>
    /// Where the shutdown checkpoint record at <paramref name="checkpoint"/> ends, from <c>pg_waldump -n 2</c>: the
    /// start of the record after it, or the position pg_waldump reports as the end of valid WAL. Null when the record
    /// at that position is not a shutdown checkpoint or pg_waldump's answer cannot be read (pg_rewind then decides).
    /// </summary>
    private async Task<long?> ShutdownCheckpointEndAsync(int timeline, long checkpoint, CancellationToken ct)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(Tool("pg_waldump"),
                ["-p", Path.Combine(DataDir, "pg_wal"), "-t", timeline.ToString(CultureInfo.InvariantCulture), "-s", Lsn.Format(checkpoint), "-n", "2"], ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
        var records = WalDumpRecord().Matches(result.StandardOutput);
        if (records.Count == 0 || !Lsn.TryParse(records[0].Groups["lsn"].Value, out var first) || first != checkpoint
            || !records[0].Groups["desc"].Value.StartsWith("CHECKPOINT_SHUTDOWN", StringComparison.Ordinal))
            return null;
        if (records.Count > 1) return Lsn.TryParse(records[1].Groups["lsn"].Value, out var next) ? next : null;
        var end = WalDumpEnd().Match(result.StandardError + result.StandardOutput);
        return end.Success && Lsn.TryParse(end.Groups["lsn"].Value, out var at) ? at : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"lsn: (?<lsn>[0-9A-F]+/[0-9A-F]+), prev [0-9A-F]+/[0-9A-F]+, desc: (?<desc>\S+)")]
    private static partial System.Text.RegularExpressions.Regex WalDumpRecord();

    [System.Text.RegularExpressions.GeneratedRegex(@"invalid record length at (?<lsn>[0-9A-F]+/[0-9A-F]+)")]
    private static partial System.Text.RegularExpressions.Regex WalDumpEnd();

    // A primary's current insert timeline comes from its WAL file name (pg_control lags until the post-promote
    // checkpoint); a standby's is asked with IDENTIFY_SYSTEM, as SQL only shows its receiver's or restartpoint's.
    private const string UpstreamTimelineSql = """
        SELECT s.system_identifier::text,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END
          FROM pg_control_system() s
        """;

    /// <summary>What the divergence check knows of the upstream.</summary>
    /// <param name="Timeline">A primary's current timeline, a standby's replay timeline.</param>
    /// <param name="History">That timeline's history file (empty on timeline 1; null when a standby's could not be read).</param>
    /// <param name="StandbyLsn">Null for a primary; for a standby, how far its WAL goes (IDENTIFY_SYSTEM's position).</param>
    /// <param name="Unknown">Why a standby's timeline could not be read (then <paramref name="Timeline"/> is 0).</param>
    private sealed record UpstreamTimeline(int Timeline, IReadOnlyList<TimelineHistoryEntry>? History, long? StandbyLsn, string? Unknown = null);

    /// <summary>
    /// The upstream's timeline and its history file, over an ordinary connection with the rewind credentials (the ones
    /// pg_rewind uses; Patroni grants its rewind user <c>pg_read_binary_file</c>). Npgsql 10's TIMELINE_HISTORY on a
    /// replication connection fails against PostgreSQL 15 (it expects bytea, the server sends text), hence SQL. A standby
    /// upstream (a leader whose promotion is still running, a cascading source) is asked IDENTIFY_SYSTEM with the
    /// replication credentials its replicas stream with.
    /// </summary>
    private async Task<UpstreamTimeline> ReadUpstreamTimelineAsync(Member upstream, string host, int port, string localSystemId, CancellationToken ct)
    {
        var csb = RemoteConnectionString(host, port, _options.EffectiveRewind);
        csb.Database = "postgres";
        csb.CommandTimeout = Math.Max(1, (int)Math.Ceiling(_options.QueryTimeout.TotalSeconds));
        csb.Pooling = false;
        await using var conn = new NpgsqlConnection(csb.ConnectionString);
        await conn.OpenAsync(ct).ConfigureAwait(false);
        string systemId;
        int timeline;
        long? standbyLsn = null;
        await using (var cmd = new NpgsqlCommand(UpstreamTimelineSql, conn))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await reader.ReadAsync(ct).ConfigureAwait(false);
            systemId = reader.GetString(0);
            timeline = reader.IsDBNull(1) ? 0 : int.Parse(reader.GetString(1).AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        if (systemId != localSystemId)
            throw new InvalidOperationException($"{upstream.Name} belongs to another cluster (system identifier {systemId}, local {localSystemId})");
        if (timeline == 0)
        {
            try
            {
                var identity = await IdentifySystemAsync(host, port, ct).ConfigureAwait(false);
                timeline = (int)identity.Timeline;
                standbyLsn = (long)(ulong)identity.XLogPos;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                return new(0, null, null, $"{upstream.Name} is a standby and IDENTIFY_SYSTEM failed: {ex.Message}");
            }
        }
        if (timeline <= 1) return new(timeline, [], standbyLsn);
        await using var read = new NpgsqlCommand("SELECT pg_read_binary_file($1)", conn);
        read.Parameters.Add(new NpgsqlParameter { Value = "pg_wal/" + TimelineHistoryFile.FileName(timeline) });
        try
        {
            var content = (byte[])(await read.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            return new(timeline, TimelineHistoryFile.Parse(System.Text.Encoding.UTF8.GetString(content)), standbyLsn);
        }
        catch (PostgresException) when (standbyLsn is not null)
        {
            // A standby keeps the history files it streamed, not necessarily those a base backup started it on.
            return new(timeline, null, standbyLsn);
        }
    }

    /// <summary>IDENTIFY_SYSTEM over a physical replication connection with the replication credentials.</summary>
    private async Task<ReplicationSystemIdentification> IdentifySystemAsync(string host, int port, CancellationToken ct)
    {
        await using var conn = new PhysicalReplicationConnection(RemoteConnectionString(host, port, _options.Replication).ConnectionString);
        await conn.Open(ct).ConfigureAwait(false);
        // Npgsql applies the command timeout to the open connector, so it can only be set after Open.
        conn.CommandTimeout = _options.QueryTimeout;
        return await conn.IdentifySystem(ct).ConfigureAwait(false);
    }

    /// <summary>A TCP connection as <paramref name="credentials"/> with the user's configured connection options.</summary>
    private NpgsqlConnectionStringBuilder RemoteConnectionString(string host, int port, PostgresCredentials credentials)
    {
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = port,
            Username = credentials.Username,
            Password = credentials.Password,
            Timeout = Math.Max(1, (int)Math.Ceiling(_options.ConnectTimeout.TotalSeconds)),
            ApplicationName = "pgha " + _options.MemberName,
        };
        credentials.EffectiveConnection.ApplyTo(csb);
        return csb;
    }

    private async Task RewindOrReinitAsync(Member upstream, string host, int port, DivergenceCheck check, CancellationToken ct)
    {
        var need = check.Need;
        string error;
        if (_options.UsePgRewind)
        {
            var (ok, outcome) = await RunPgRewindAsync(upstream, host, port, check, ct).ConfigureAwait(false);
            if (ok) return;
            error = outcome;
        }
        else if (need == RewindNeed.AskPgRewind)
        {
            // Most likely a clean switchover (shutdown checkpoint = fork point): it can stream as it is.
            return;
        }
        else error = "use_pg_rewind is off";

        if (_options.RemoveDataDirectoryOnRewindFailure)
        {
            PostgresLog.RewindFailed(_logger, upstream.Name, error, "removing the data directory and cloning it afresh (remove_data_directory_on_rewind_failure)");
            WipeDataDirectory($"diverged from {upstream.Name} and could not be rewound");
            await CloneFromAsync(upstream, _options.EffectiveReplicaMethods, ct).ConfigureAwait(false);
            return;
        }
        PostgresLog.RewindFailed(_logger, upstream.Name, error, "starting it as it is; it will not stream until it is rewound or reinitialized");
        lock (_gate) _rewindFailed = (upstream.Name, check.UpstreamTimeline);
    }

    private async Task<(bool Ok, string Outcome)> RunPgRewindAsync(Member upstream, string host, int port, DivergenceCheck check, CancellationToken ct)
    {
        var credentials = _options.EffectiveRewind;
        var source = ConnInfo.Build(
        [
            new("host", host),
            new("port", port.ToString(CultureInfo.InvariantCulture)),
            new("user", credentials.Username),
            new("dbname", "postgres"),
            .. credentials.EffectiveConnection.ToLibpq(_options.MemberName),
        ]);
        PostgresLog.RewindStarted(_logger, upstream.Name, check.Need == RewindNeed.Needed ? check.Reason : check.Reason + "; pg_rewind compares the former primary's shutdown checkpoint with the fork point");
        var started = Stopwatch.StartNew();
        _watcher.Stop();
        var result = await ProcessRunner.RunAsync(Tool("pg_rewind"), ["-D", DataDir, "--source-server=" + source, "--progress"], ct,
            new Dictionary<string, string?> { ["PGPASSWORD"] = credentials.Password },
            line => ReportProgress("pg_rewind from " + upstream.Name, line)).ConfigureAwait(false);
        if (!result.Succeeded) return (false, "pg_rewind: " + result.LastMessage);
        var outcome = (result.StandardError + result.StandardOutput).Contains("no rewind required", StringComparison.Ordinal) ? "no rewind required" : "rewound";
        PostgresLog.Rewound(_logger, upstream.Name, started.Elapsed, outcome);
        lock (_gate) _rewindFailed = null;
        return (true, outcome);
    }
}
