using System.Diagnostics;
using System.Globalization;
using PgHa.Cluster;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Tries <see cref="PostgresControllerOptions.EffectiveReplicaMethods"/> in order (Patroni's
    /// <c>create_replica_methods</c>) until one exits 0 and leaves an initialized data directory. Without a
    /// <paramref name="source"/> only the methods marked <c>no_leader</c> run.
    /// </para>
    /// <para>
    /// <c>basebackup</c>: <c>pg_basebackup -D data -X stream -c fast -h/-p</c> of the source's conn_url with the
    /// replication credentials and <see cref="PostgresControllerOptions.BasebackupOptions"/>; progress reports become log
    /// lines. A custom method runs its command (split like a shell does, without one) with its own parameters as
    /// <c>--key=value</c>, then, unless <c>no_params</c>, <c>--scope</c>, <c>--role=replica</c>, <c>--datadir</c> and
    /// <c>--connstring</c> (libpq keywords of the source with the replication user, empty without a source), the
    /// replication password in <c>PGPASSWORD</c> and the passfile (when configured) in <c>PGPASSFILE</c>. The data
    /// directory is emptied before a method runs unless it is marked <c>keep_data</c>, and after a custom method fails
    /// unless it is <c>keep_data</c>.
    /// </para>
    /// <para>
    /// Success: the data directory gets PgHa's configuration, standby.signal and recovery settings following
    /// <paramref name="source"/> (no upstream without one). Every method failing: the data directory is removed and the
    /// call throws; the loop tries again at a later cycle.
    /// </para>
    /// </remarks>
    public async Task CreateReplicaAsync(Member? source, CancellationToken cancellationToken)
    {
        ClearForNewData("create a replica");
        await CloneFromAsync(source, _options.EffectiveReplicaMethods, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Tries <paramref name="methods"/> in order against <paramref name="source"/> (null: only the <c>no_leader</c>
    /// ones), then writes a replica's configuration following it.
    /// </summary>
    private async Task CloneFromAsync(Member? source, IReadOnlyList<ReplicaCreationMethod> methods, CancellationToken ct)
    {
        (string Host, int Port)? endpoint = source is null ? null : Endpoint(source);
        var started = Stopwatch.StartNew();
        EnsureStateDirectory();
        var tried = new List<string>();
        string? winner = null;
        var winnerIsBasebackup = false;
        try
        {
            foreach (var method in methods)
            {
                if (endpoint is null && !method.WorksWithoutLeader)
                {
                    ReplicaMethodLog.MethodSkipped(_logger, method.Name);
                    continue;
                }
                tried.Add(method.Name);
                var error = method.IsBasebackup
                    ? await TryBasebackupAsync(source!, endpoint!.Value, ct).ConfigureAwait(false)
                    : await TryCustomReplicaMethodAsync(method, endpoint, ct).ConfigureAwait(false);
                if (error is null && InspectDataDirectory() != Decisions.DataDirectoryState.Initialized)
                    error = $"exited 0 but left no initialized data directory in {DataDir}";
                if (error is null)
                {
                    winner = method.Name;
                    winnerIsBasebackup = method.IsBasebackup;
                    break;
                }
                ReplicaMethodLog.MethodFailed(_logger, method.Name, error);
                if (!method.KeepData && !IsDataDirectoryEmpty()) WipeDataDirectory($"replica method {method.Name} failed");
            }
        }
        catch (OperationCanceledException)
        {
            if (!IsDataDirectoryEmpty()) WipeDataDirectory("replica creation was cancelled");
            throw;
        }
        if (winner is null)
        {
            // Whatever a failed method left behind (keep_data included) must not be mistaken for a usable replica.
            if (!IsDataDirectoryEmpty()) WipeDataDirectory("every replica creation method failed");
            ReplicaMethodLog.AllMethodsFailed(_logger, tried.Count == 0 ? "none could run" : string.Join(", ", tried));
            throw new InvalidOperationException(tried.Count == 0
                ? "no replica creation method can run without a member to clone from (none is marked no_leader)"
                : $"every replica creation method failed ({string.Join(", ", tried)})");
        }

        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);
        _files.PrepareBaseConfig();
        _files.WritePgHba();
        _files.WritePassFile();
        // A backup may carry recovery.signal (targeted recovery); a replica only wants standby.signal.
        File.Delete(Path.Combine(DataDir, "recovery.signal"));
        _files.WriteStandbySignal();
        _files.WritePostgresqlConf(endpoint is { } e
            ? new RecoverySettings(_files.PrimaryConnInfo(e.Host, e.Port), ReplicationSlotNames.ForMember(_options.MemberName))
            : new RecoverySettings(null, null));
        SetUpstream(source?.Name);
        File.Delete(BootstrapMarkerPath);
        lock (_gate) (_rewindFailed, _basebackupOf) = (null, winnerIsBasebackup ? source?.Name : null);
        ReplicaMethodLog.MethodSucceeded(_logger, winner, source?.Name ?? "no member", started.Elapsed);
        if (source is not null) PostgresLog.Cloned(_logger, source.Name, started.Elapsed);
    }

    /// <summary>pg_basebackup from <paramref name="source"/>; null on success, else the error.</summary>
    private async Task<string?> TryBasebackupAsync(Member source, (string Host, int Port) endpoint, CancellationToken ct)
    {
        if (!IsDataDirectoryEmpty()) WipeDataDirectory("before pg_basebackup");
        var (host, port) = endpoint;
        var extra = _options.BasebackupOptions.Select(o => "--" + o.TrimStart('-')).ToList();
        bool Has(params string[] names) => extra.Any(e => names.Any(n => e == "--" + n || e.StartsWith("--" + n + "=", StringComparison.Ordinal)));
        var args = new List<string> { "-D", DataDir, "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", _options.Replication.Username, "--progress", "--no-password" };
        if (!Has("wal-method", "X")) args.AddRange(["-X", "stream"]);
        if (!Has("checkpoint", "c")) args.AddRange(["-c", "fast"]);
        // The replication user's SSL/GSS options travel as a connection string (-d only adds keywords here).
        var conninfo = ConnInfo.Build(_options.Replication.EffectiveConnection.ToLibpq());
        if (conninfo.Length > 0) args.AddRange(["-d", conninfo]);
        args.AddRange(extra);
        PostgresLog.CloneStarted(_logger, source.Name, host, port, string.Join(' ', args.Skip(2).Select(a => a == conninfo ? ConnInfo.Redact(a) : a)));
        var result = await ProcessRunner.RunAsync(Tool("pg_basebackup"), args, ct,
            new Dictionary<string, string?> { ["PGPASSWORD"] = _options.Replication.Password, ["PGAPPNAME"] = _options.MemberName },
            line => ReportProgress("pg_basebackup from " + source.Name, line)).ConfigureAwait(false);
        if (result.Succeeded) return null;
        PostgresLog.CloneFailed(_logger, source.Name, result.LastMessage);
        return $"pg_basebackup from {source.Name} failed: {result.LastMessage}";
    }

    /// <summary>Runs a custom replica creation method; null on success, else the error.</summary>
    private async Task<string?> TryCustomReplicaMethodAsync(ReplicaCreationMethod method, (string Host, int Port)? endpoint, CancellationToken ct)
    {
        if (!method.KeepData && !IsDataDirectoryEmpty()) WipeDataDirectory($"before replica method {method.Name}");
        Directory.CreateDirectory(DataDir);
        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);
        var words = CommandLine.Split(method.Command ?? method.Name);
        var args = words.Skip(1).Concat(method.Parameters.Select(p => $"--{p.Key}={p.Value}")).ToList();
        if (!method.NoParams)
        {
            var connstring = endpoint is { } e
                ? ConnInfo.Build(
                [
                    new("dbname", "postgres"),
                    new("user", _options.Replication.Username),
                    new("host", e.Host),
                    new("port", e.Port.ToString(CultureInfo.InvariantCulture)),
                    .. _options.Replication.EffectiveConnection.ToLibpq(),
                ])
                : "";
            args.AddRange(["--scope=" + _options.Scope, "--role=replica", "--datadir=" + DataDir, ConnStringOption + connstring]);
        }
        ReplicaMethodLog.MethodStarted(_logger, method.Name, string.Join(' ', words.Take(1).Concat(args).Select(a => a.StartsWith(ConnStringOption, StringComparison.Ordinal) ? ConnStringOption + ConnInfo.Redact(a[ConnStringOption.Length..]) : a)));
        _files.WritePassFile();
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(words[0], args, ct, new Dictionary<string, string?>
            {
                ["PGPASSWORD"] = endpoint is null ? null : _options.Replication.Password,
                ["PGPASSFILE"] = _options.PgPassFile.Length > 0 ? _options.PgPassFile : null,
            }).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
        return result.Succeeded ? null : $"{words[0]} exited with code={result.ExitCode}: {result.LastMessage}";
    }

    private const string ConnStringOption = "--connstring=";

    private bool IsDataDirectoryEmpty() => InspectDataDirectory() == Decisions.DataDirectoryState.Empty;
}
