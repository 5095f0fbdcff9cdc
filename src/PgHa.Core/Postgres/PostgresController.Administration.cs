using Npgsql;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController : IPostgresAdministration
{
    // PostgreSQL recomputes pending_restart when a backend re-reads the files after SIGHUP; Patroni waits a second too.
    private static readonly TimeSpan ReloadSettle = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    /// <remarks>A server running from <c>standby.signal</c> comes back as a replica; otherwise as a primary, which the write fence must allow.</remarks>
    public async Task RestartAsync(Member? upstream, CancellationToken cancellationToken)
    {
        if (InspectDataDirectory() != DataDirectoryState.Initialized) throw new InvalidOperationException($"{DataDir} holds no initialized cluster: nothing to restart");
        var replica = File.Exists(_files.StandbySignalPath);
        var recovery = replica ? RecoveryFor(upstream) : null;
        if (!replica) RefuseIfFenceTripped("restart PostgreSQL as a primary");
        await StopPostmasterAsync("fast", "restart", cancellationToken).ConfigureAwait(false);
        _files.WritePostgresqlConf(recovery);
        if (replica)
        {
            SetUpstream(upstream?.Name);
            await StartPostmasterAsync("replica", "restart requested", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            RefuseIfFenceTripped("restart PostgreSQL as a primary");
            await StartPostmasterAsync("primary", "restart requested", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (LivePostmasterPid() is null) return;
        await ExecuteAsync("SELECT pg_catalog.pg_reload_conf()", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingParameter>> ApplyParametersAsync(IReadOnlyDictionary<string, string> parameters, Member? upstream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var invalid = parameters.Keys.Where(k => !PostgresConfigFiles.IsValidParameterName(k) || PostgresControllerOptionsValidator.ReservedParameters.Contains(k)).ToList();
        if (invalid.Count > 0) throw new ArgumentException($"parameters set by PgHa itself or not valid names: {string.Join(", ", invalid)}", nameof(parameters));
        bool changed;
        lock (_gate)
        {
            changed = parameters.Count != _options.Parameters.Count
                      || parameters.Any(p => !_options.Parameters.TryGetValue(p.Key, out var v) || v != p.Value);
        }
        if (!changed) return await GetPendingRestartAsync(cancellationToken).ConfigureAwait(false);
        if (InspectDataDirectory() != DataDirectoryState.Initialized)
        {
            ReplaceParameters(parameters); // written by the bootstrap or clone that creates the data directory
            return [];
        }
        var replica = File.Exists(_files.StandbySignalPath);
        // Rewriting a replica's file without knowing its upstream would drop primary_conninfo; wait for the member key.
        if (replica && upstream is null && Upstream is not null)
            throw new InvalidOperationException($"the upstream {Upstream} has no member key right now; parameters are applied once it is back");
        ReplaceParameters(parameters);
        _files.WritePostgresqlConf(replica ? RecoveryFor(upstream) : null);
        if (LivePostmasterPid() is null) return [];
        await ReloadAsync(cancellationToken).ConfigureAwait(false);
        await Task.Delay(ReloadSettle, _time, cancellationToken).ConfigureAwait(false);
        return await GetPendingRestartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PendingParameter>> GetPendingRestartAsync(CancellationToken cancellationToken)
    {
        if (LivePostmasterPid() is null) return [];
        await using var conn = await OpenLocalAsync(cancellationToken).ConfigureAwait(false);
        // The configured value comes from the files PostgreSQL read: the last valid assignment wins, as in PostgreSQL.
        // The one waiting for a restart is marked "setting could not be applied"; it is valid, just not live yet.
        const string sql = """
            SELECT s.name, pg_catalog.current_setting(s.name),
                   (SELECT f.setting FROM pg_catalog.pg_file_settings f
                    WHERE f.name = s.name AND (f.error IS NULL OR f.error = 'setting could not be applied')
                    ORDER BY f.seqno DESC LIMIT 1)
            FROM pg_catalog.pg_settings s WHERE s.pending_restart ORDER BY s.name
            """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var pending = new List<PendingParameter>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            pending.Add(new PendingParameter(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? "" : reader.GetString(2)));
        return pending;
    }

    /// <inheritdoc />
    public async Task ReinitializeAsync(Member source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        await StopPostmasterAsync("immediate", "reinitialize", cancellationToken).ConfigureAwait(false);
        if (LooksLikePostgresDirectory()) WipeDataDirectory("reinitialize requested");
        SetUpstream(null);
        await CreateReplicaAsync(source, cancellationToken).ConfigureAwait(false);
    }

    private RecoverySettings RecoveryFor(Member? upstream)
    {
        if (upstream is null) return new RecoverySettings(null, null);
        var (host, port) = Endpoint(upstream);
        return new RecoverySettings(_files.PrimaryConnInfo(host, port), ReplicationSlotNames.ForMember(_options.MemberName));
    }

    private void ReplaceParameters(IReadOnlyDictionary<string, string> parameters)
    {
        lock (_gate)
        {
            _options.Parameters.Clear();
            foreach (var (k, v) in parameters) _options.Parameters[k] = v;
        }
    }
}
