using System.Diagnostics;
using System.Globalization;
using PgHa.Cluster;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// initdb with <see cref="PostgresControllerOptions.InitdbOptions"/> and the superuser (password through
    /// <c>--pwfile</c>); moves initdb's postgresql.conf to postgresql.base.conf, writes pg_hba.conf (when configured)
    /// and PgHa's postgresql.conf, and marks post_bootstrap as pending. Leaves the primary stopped. A half-made data
    /// directory (no pg_control) is removed first; a foreign non-empty directory is refused.
    /// </remarks>
    public async Task BootstrapAsync(CancellationToken cancellationToken)
    {
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
            var url = string.Create(CultureInfo.InvariantCulture, $"postgres://{Uri.EscapeDataString(su.Username)}@{host}:{_listen.Port}/postgres");
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

    /// <inheritdoc />
    /// <remarks>
    /// <c>pg_basebackup -D data -X stream -c fast -h/-p</c> (from <paramref name="source"/>'s conn_url) with the
    /// replication credentials and <see cref="PostgresControllerOptions.BasebackupOptions"/>; its <c>--progress</c>
    /// reports become log lines. A failed copy is removed. Then standby.signal and the replica's postgresql.conf.
    /// </remarks>
    public async Task CreateReplicaAsync(Member source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ClearForNewData("create a replica");
        await CloneFromAsync(source, cancellationToken).ConfigureAwait(false);
    }

    private async Task CloneFromAsync(Member source, CancellationToken ct)
    {
        var (host, port) = Endpoint(source);
        var started = Stopwatch.StartNew();
        EnsureStateDirectory();
        var extra = _options.BasebackupOptions.Select(o => "--" + o.TrimStart('-')).ToList();
        bool Has(params string[] names) => extra.Any(e => names.Any(n => e == "--" + n || e.StartsWith("--" + n + "=", StringComparison.Ordinal)));
        var args = new List<string> { "-D", DataDir, "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-U", _options.Replication.Username, "--progress", "--no-password" };
        if (!Has("wal-method", "X")) args.AddRange(["-X", "stream"]);
        if (!Has("checkpoint", "c")) args.AddRange(["-c", "fast"]);
        args.AddRange(extra);
        PostgresLog.CloneStarted(_logger, source.Name, host, port, string.Join(' ', args.Skip(2)));
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync(Tool("pg_basebackup"), args, ct,
                new Dictionary<string, string?> { ["PGPASSWORD"] = _options.Replication.Password, ["PGAPPNAME"] = _options.MemberName },
                line => ReportProgress("pg_basebackup from " + source.Name, line)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (LooksLikePostgresDirectory()) WipeDataDirectory("pg_basebackup was cancelled");
            throw;
        }
        if (!result.Succeeded)
        {
            PostgresLog.CloneFailed(_logger, source.Name, result.LastMessage);
            if (LooksLikePostgresDirectory()) WipeDataDirectory("pg_basebackup failed");
            throw new InvalidOperationException($"pg_basebackup from {source.Name} failed: {result.LastMessage}");
        }
        PostgresConfigFiles.SetMode(DataDir, PostgresConfigFiles.OwnerOnlyDirectory);
        _files.PrepareBaseConfig();
        _files.WritePgHba();
        _files.WritePassFile();
        _files.WriteStandbySignal();
        _files.WritePostgresqlConf(new RecoverySettings(_files.PrimaryConnInfo(host, port), ReplicationSlotNames.ForMember(_options.MemberName)));
        SetUpstream(source.Name);
        File.Delete(BootstrapMarkerPath);
        lock (_gate) _rewindFailed = null;
        PostgresLog.Cloned(_logger, source.Name, started.Elapsed);
    }
}
