using System.Diagnostics;
using System.Globalization;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// initdb with <see cref="PostgresControllerOptions.InitdbOptions"/> and the superuser (password through
    /// <c>--pwfile</c>); moves initdb's postgresql.conf to postgresql.base.conf, writes pg_hba.conf (when configured)
    /// and PgHa's postgresql.conf, and marks post_bootstrap as pending. Leaves the primary stopped. A half-made data
    /// directory (no pg_control) is removed first; a foreign non-empty directory is refused. With a custom
    /// <see cref="PostgresControllerOptions.BootstrapMethod"/> its command runs instead of initdb (see
    /// <see cref="CustomBootstrapAsync"/>).
    /// </remarks>
    public async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        if (_options.BootstrapMethod is { } custom)
        {
            await CustomBootstrapAsync(custom, cancellationToken).ConfigureAwait(false);
            return;
        }
        ClearForNewData("bootstrap");
        var started = Stopwatch.StartNew();
        EnsureStateDirectory();
        Directory.CreateDirectory(DataDir);
        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);

        var args = new List<string> { "-D", DataDir, "-U", _options.Superuser.Username };
        foreach (var option in _options.InitdbOptions) args.Add("--" + option.TrimStart('-'));
        string? pwFile = null;
        if (_options.Superuser.Password is { } password)
        {
            pwFile = Path.Combine(StateDir, "initdb.pw");
            PostgresConfigFiles.WriteAtomic(pwFile, password + "\n");
            args.Add("--pwfile=" + pwFile);
        }
        PostgresLog.Bootstrapping(_logger, DataDir, string.Join(' ', _options.InitdbOptions));
        try
        {
            var result = await ProcessRunner.RunAsync(Tool("initdb"), args, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                if (LooksLikePostgresDirectory()) WipeDataDirectory("initdb failed");
                throw new InvalidOperationException($"initdb failed: {result.LastMessage}");
            }
        }
        finally
        {
            if (pwFile is not null) File.Delete(pwFile);
        }

        _files.PrepareBaseConfig();
        _files.WritePgHba();
        _files.WritePassFile();
        _files.RemoveStandbySignal();
        _files.WritePostgresqlConf(recovery: null);
        SetUpstream(null);
        PostgresConfigFiles.WriteAtomic(BootstrapMarkerPath, "post_bootstrap pending\n");
        var control = await ReadControlDataAsync(cancellationToken).ConfigureAwait(false);
        PostgresLog.Bootstrapped(_logger, started.Elapsed, control.SystemId);
    }

    /// <summary>Runs post_bootstrap once after the bootstrapped primary first answers; throws when it fails (kept pending).</summary>
    private async Task RunPendingPostBootstrapAsync(CancellationToken ct)
    {
        if (!File.Exists(BootstrapMarkerPath)) return;
        await CreateBootstrapRolesAsync(ct).ConfigureAwait(false);
        if (_options.PostBootstrap.Length > 0)
        {
            var su = _options.Superuser;
            var host = _options.UnixSocketDirectory.Length > 0 ? Uri.EscapeDataString(_options.UnixSocketDirectory) : _listen.LocalConnectHost;
            // The superuser's SSL/GSS options as URI query parameters, as Patroni hands them in its connection string.
            var query = string.Join('&', su.EffectiveConnection.ToLibpq().Where(p => p.Value is not null).Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value!)));
            var url = string.Create(CultureInfo.InvariantCulture, $"postgres://{Uri.EscapeDataString(su.Username)}@{host}:{_listen.Port}/postgres{(query.Length > 0 ? "?" + query : "")}");
            var result = await ProcessRunner.RunAsync(_options.PostBootstrap, [url], ct, new Dictionary<string, string?>
            {
                ["PGPASSWORD"] = su.Password,
                ["PGHOST"] = _options.UnixSocketDirectory.Length > 0 ? _options.UnixSocketDirectory : _listen.LocalConnectHost,
                ["PGPORT"] = _listen.Port.ToString(CultureInfo.InvariantCulture),
                ["PGUSER"] = su.Username,
                ["PGDATABASE"] = "postgres",
            }).ConfigureAwait(false);
            PostgresLog.PostBootstrap(_logger, _options.PostBootstrap, result.ExitCode);
            if (!result.Succeeded) throw new InvalidOperationException($"post_bootstrap {_options.PostBootstrap} failed: {result.LastMessage}");
        }
        File.Delete(BootstrapMarkerPath);
    }

    /// <summary>
    /// Patroni's custom bootstrap: the method's command with its parameters as <c>--key=value</c> and, unless
    /// <c>no_params</c>, <c>--scope</c> and <c>--datadir</c>. It must exit 0 and leave an initialized data directory,
    /// else the directory is removed and the call throws (the loop gives the initialize key back). Then PgHa's
    /// configuration files; with <c>recovery_conf</c>, recovery.signal so the first start runs that recovery;
    /// otherwise standby.signal/recovery.signal are removed unless <c>keep_existing_recovery_conf</c>.
    /// </summary>
    private async Task CustomBootstrapAsync(CustomBootstrapMethod method, CancellationToken ct)
    {
        ClearForNewData("bootstrap");
        var started = Stopwatch.StartNew();
        EnsureStateDirectory();
        Directory.CreateDirectory(DataDir);
        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);
        var words = CommandLine.Split(method.Command);
        var args = words.Skip(1).Concat(method.Parameters.Select(p => $"--{p.Key}={p.Value}")).ToList();
        if (!method.NoParams) args.AddRange(["--scope=" + _options.Scope, "--datadir=" + DataDir]);
        ReplicaMethodLog.MethodStarted(_logger, method.Name, string.Join(' ', words.Take(1).Concat(args)));
        string? error;
        try
        {
            var result = await ProcessRunner.RunAsync(words[0], args, ct).ConfigureAwait(false);
            error = !result.Succeeded ? $"exited with code={result.ExitCode}: {result.LastMessage}"
                : InspectDataDirectory() != DataDirectoryState.Initialized ? $"exited 0 but left no initialized data directory in {DataDir}"
                : null;
        }
        catch (InvalidOperationException ex)
        {
            error = ex.Message;
        }
        catch (OperationCanceledException)
        {
            if (InspectDataDirectory() != DataDirectoryState.Empty) WipeDataDirectory("the custom bootstrap was cancelled");
            throw;
        }
        if (error is not null)
        {
            if (InspectDataDirectory() != DataDirectoryState.Empty) WipeDataDirectory($"custom bootstrap method {method.Name} failed");
            throw new InvalidOperationException($"custom bootstrap method {method.Name} ({words[0]}) failed: {error}");
        }

        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);
        _files.PrepareBaseConfig();
        _files.WritePgHba();
        _files.WritePassFile();
        var recoverySignal = Path.Combine(DataDir, "recovery.signal");
        if (method.RecoveryConf.Count > 0)
        {
            _files.RemoveStandbySignal();
            PostgresConfigFiles.WriteAtomic(recoverySignal, "");
        }
        else if (!method.KeepExistingRecoveryConf)
        {
            _files.RemoveStandbySignal();
            File.Delete(recoverySignal);
        }
        _files.WritePostgresqlConf(BootstrapRecovery());
        SetUpstream(null);
        PostgresConfigFiles.WriteAtomic(BootstrapMarkerPath, "post_bootstrap pending\n");
        var control = await ReadControlDataAsync(ct).ConfigureAwait(false);
        ReplicaMethodLog.CustomBootstrapDone(_logger, method.Name, started.Elapsed, control.SystemId);
    }

    /// <summary>
    /// The recovery settings of a custom bootstrap's first start (its <c>recovery_conf</c>), while it is pending and
    /// recovery.signal asks for that recovery; null otherwise (a primary's configuration).
    /// </summary>
    private RecoverySettings? BootstrapRecovery() =>
        _options.BootstrapMethod is { RecoveryConf.Count: > 0 } method && File.Exists(BootstrapMarkerPath)
        && File.Exists(Path.Combine(DataDir, "recovery.signal"))
            ? new RecoverySettings(null, null) { TargetedRecovery = method.RecoveryConf }
            : null;

    /// <summary>
    /// A bootstrapped cluster whose first start runs a recovery (recovery.signal: a custom bootstrap's
    /// <c>recovery_conf</c>, or the backup tool's own settings) is a primary only once that recovery ended; Patroni waits
    /// for it before post_bootstrap. Throws when the postmaster exits meanwhile.
    /// </summary>
    private async Task WaitForBootstrapRecoveryAsync(CancellationToken ct)
    {
        if (!File.Exists(BootstrapMarkerPath)) return;
        var logged = false;
        while (!await AnswersAsPrimaryAsync(ct).ConfigureAwait(false))
        {
            if (!logged) ReplicaMethodLog.WaitingForBootstrapRecovery(_logger);
            logged = true;
            if (LivePostmasterPid() is null) throw new InvalidOperationException($"PostgreSQL exited during the bootstrap recovery (see {PostmasterLogPath})");
            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, ct).ConfigureAwait(false);
        }
        // The recovery settings served their purpose: the primary's configuration has none (also when the recovery
        // ended before the first look).
        _files.WritePostgresqlConf(recovery: null);
        await ExecuteAsync("SELECT pg_reload_conf()", ct).ConfigureAwait(false);
    }
}
