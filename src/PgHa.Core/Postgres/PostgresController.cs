using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace PgHa.Postgres;

/// <summary>
/// The real <see cref="IPostgresControl"/>: drives initdb, pg_ctl, pg_basebackup, pg_rewind and pg_controldata of one
/// local PostgreSQL (15+) data directory, queries it through Npgsql, and enforces the write fence with a detached
/// fencer process (<c>pgha-fencer.sh</c>) that keeps working when this agent is frozen or dead.
/// </summary>
/// <remarks>
/// <para>Runs every tool as the agent's own OS user, which must own the data directory (PostgreSQL refuses root).</para>
/// <para>
/// PgHa's own files live in the state directory (<see cref="PostgresControllerOptions.EffectiveStateDirectory"/>):
/// <c>fence.deadline</c>, <c>fencer.pid</c>/<c>.log</c>/<c>.lock</c>, <c>pgha-fencer.sh</c>, <c>upstream</c> (the
/// member this node follows), <c>bootstrap.pending</c> (post_bootstrap not run yet) and <c>postgresql.log</c> (the
/// postmaster's stderr).
/// </para>
/// <para>
/// <b>post_bootstrap</b> runs inside <see cref="StartPrimaryAsync"/>, right after the first start of a bootstrapped
/// primary (the bootstrap marker says it is pending); a failing script makes that call throw, and the next
/// <see cref="StartPrimaryAsync"/> runs it again.
/// </para>
/// </remarks>
public sealed partial class PostgresController : IPostgresControl, IDisposable
{
    private readonly PostgresControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PostgresConfigFiles _files;
    private readonly WriteFence _fence;
    private readonly PostmasterWatcher _watcher;
    private readonly ListenAddress _listen;
    private readonly object _gate = new();
    private string? _upstream;
    private (string Upstream, int Timeline)? _rewindFailed;
    // The member whose pg_basebackup the data directory is, until the first follow after the clone; guarded by _gate.
    private string? _basebackupOf;
    // The newest timeline a running standby was seen on, per postmaster (its start time): a standby never goes back to
    // an older one, while without a WAL receiver SQL only shows its last restartpoint's, which can be older.
    private (DateTimeOffset PostmasterStart, int Timeline)? _replicaTimelineSeen;

    /// <summary>Creates the controller; throws <see cref="OptionsValidationException"/> when the options are invalid.</summary>
    public PostgresController(PostgresControllerOptions options, TimeProvider timeProvider, ILogger<PostgresController>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new PostgresControllerOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new OptionsValidationException(nameof(PostgresControllerOptions), typeof(PostgresControllerOptions), validation.Failures);
        _options = options;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _files = new PostgresConfigFiles(options);
        _fence = new WriteFence(options, timeProvider, _logger);
        _watcher = new PostmasterWatcher(OnPostmasterExited);
        ListenAddress.TryParse(options.Listen, out _listen);
        _upstream = ReadUpstreamFile();
    }

    /// <summary>
    /// Raised (on a dedicated watcher thread, within ~100 ms) when the postmaster this controller saw running exits
    /// without the controller stopping it: a crash, kill -9, or the write fence. Subscribers should only wake the
    /// loop (<c>HaLoop.Wake</c>).
    /// </summary>
    public event EventHandler<PostmasterDiedEventArgs>? PostmasterDied;

    /// <summary>The options in use.</summary>
    public PostgresControllerOptions Options => _options;

    /// <summary>True while the write fence has tripped: PostgreSQL may not run as a primary until it is moved or disarmed.</summary>
    public bool IsWriteFenceTripped => _fence.IsTripped();

    /// <summary>The pid of this data directory's fencer process, or null when none runs.</summary>
    public int? FencerPid => _fence.FencerPid();

    /// <summary>
    /// Makes the fencer process exit (a clean shutdown of a node whose PostgreSQL is stopped or a replica). Never call
    /// this while PostgreSQL may run as a primary: nothing would stop it when the lock expires.
    /// </summary>
    public Task StopFencerAsync(CancellationToken cancellationToken) => _fence.StopFencerAsync(cancellationToken);

    /// <summary>Stops watching the postmaster. The fencer keeps running on purpose.</summary>
    public void Dispose() => _watcher.Dispose();

    private string DataDir => _options.DataDirectory;

    private string StateDir => _options.EffectiveStateDirectory;

    /// <summary>Creates the state directory (mode 0700: it holds the fence and, with a pwfile, a password briefly).</summary>
    private void EnsureStateDirectory()
    {
        if (Directory.Exists(StateDir)) return;
        Directory.CreateDirectory(StateDir);
        PostgresConfigFiles.SetMode(StateDir, PostgresConfigFiles.OwnerOnlyDirectory);
    }

    private string Tool(string name) => _options.BinDirectory.Length > 0 ? Path.Combine(_options.BinDirectory, name) : name;

    private int PgCtlTimeoutSeconds => Math.Max(1, (int)Math.Ceiling(_options.PgCtlTimeout.TotalSeconds));

    private string PostmasterLogPath => Path.Combine(StateDir, "postgresql.log");

    private string UpstreamPath => Path.Combine(StateDir, "upstream");

    private string BootstrapMarkerPath => Path.Combine(StateDir, "bootstrap.pending");

    private void OnPostmasterExited(int pid, bool viaPidFd)
    {
        PostgresLog.PostmasterDied(_logger, pid, viaPidFd ? "pidfd" : "polling");
        PostmasterDied?.Invoke(this, new PostmasterDiedEventArgs(pid));
    }

    // ---- the data directory ------------------------------------------------------------------------------------

    private Decisions.DataDirectoryState InspectDataDirectory()
    {
        if (!Directory.Exists(DataDir)) return Decisions.DataDirectoryState.Empty;
        var entries = Directory.EnumerateFileSystemEntries(DataDir).Select(Path.GetFileName).Where(n => n != "lost+found").ToList();
        if (entries.Count == 0) return Decisions.DataDirectoryState.Empty;
        return File.Exists(Path.Combine(DataDir, "PG_VERSION")) && File.Exists(Path.Combine(DataDir, "global", "pg_control"))
            ? Decisions.DataDirectoryState.Initialized
            : Decisions.DataDirectoryState.Unusable;
    }

    /// <summary>True when the directory looks like (part of) a PostgreSQL data directory, so wiping it loses no foreign files.</summary>
    private bool LooksLikePostgresDirectory() =>
        new[] { "PG_VERSION", "backup_label", "global", "base", "pg_wal", "postgresql.conf" }.Any(n => Path.Exists(Path.Combine(DataDir, n)));

    /// <summary>Removes the data directory's content (keeping the directory, which may be a mount point).</summary>
    private void WipeDataDirectory(string why)
    {
        if (LivePostmasterPid() is { } pid) throw new InvalidOperationException($"refusing to remove {DataDir}: a postmaster (pid {pid}) runs in it");
        if (!Directory.Exists(DataDir)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(DataDir))
        {
            if (Path.GetFileName(entry) == "lost+found") continue;
            if (Directory.Exists(entry) && !File.GetAttributes(entry).HasFlag(FileAttributes.ReparsePoint)) Directory.Delete(entry, recursive: true);
            else File.Delete(entry);
        }
        PostgresLog.DataDirectoryRemoved(_logger, DataDir, why);
    }

    /// <summary>Prepares a non-initialized data directory for initdb or a clone: removes a half-made one, refuses foreign files.</summary>
    private void ClearForNewData(string purpose)
    {
        lock (_gate) _basebackupOf = null;
        switch (InspectDataDirectory())
        {
            case Decisions.DataDirectoryState.Initialized:
                throw new InvalidOperationException($"refusing to {purpose}: {DataDir} already holds an initialized cluster");
            case Decisions.DataDirectoryState.Unusable when LooksLikePostgresDirectory():
                WipeDataDirectory($"it held an unusable (half-made) cluster, before {purpose}");
                break;
            case Decisions.DataDirectoryState.Unusable:
                throw new InvalidOperationException($"refusing to {purpose}: {DataDir} is not empty and does not look like a PostgreSQL data directory");
        }
    }

    /// <summary>The postmaster of this data directory when its process is alive, from postmaster.pid.</summary>
    private int? LivePostmasterPid()
    {
        string? first;
        try { first = File.ReadLines(Path.Combine(DataDir, "postmaster.pid")).FirstOrDefault(); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        if (!int.TryParse(first?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || !Posix.IsAlive(pid)) return null;
        // A stale postmaster.pid can name a reused pid: the postmaster works in the data directory.
        try
        {
            var cwd = new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: false)?.FullName;
            if (cwd is not null) return SamePath(cwd, DataDir) ? pid : null;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return cmdline.Length > 0 && cmdline[0].EndsWith("postgres", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static bool SamePath(string a, string b)
    {
        static string Real(string p)
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(p));
            try { return new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full; }
            catch (IOException) { return full; }
        }
        return string.Equals(Real(a), Real(b), StringComparison.Ordinal);
    }

    private async Task<PgControlData> ReadControlDataAsync(CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(Tool("pg_controldata"), ["-D", DataDir], ct).ConfigureAwait(false);
        if (!result.Succeeded) throw new InvalidOperationException($"pg_controldata failed: {result.LastMessage}");
        return PgControlData.Parse(result.StandardOutput);
    }

    // ---- the upstream and bootstrap markers ---------------------------------------------------------------------

    private string? ReadUpstreamFile()
    {
        try { return File.ReadLines(UpstreamPath).FirstOrDefault()?.Trim() is { Length: > 0 } name ? name : null; }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    private void SetUpstream(string? member)
    {
        lock (_gate) _upstream = member;
        EnsureStateDirectory();
        if (member is null) File.Delete(UpstreamPath);
        else PostgresConfigFiles.WriteAtomic(UpstreamPath, member + "\n");
    }

    private string? Upstream
    {
        get { lock (_gate) return _upstream; }
    }

    // ---- connections ----------------------------------------------------------------------------------------------

    private NpgsqlConnectionStringBuilder LocalConnectionString(PostgresCredentials credentials)
    {
        var socket = _options.UnixSocketDirectory.Length > 0;
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = socket ? _options.UnixSocketDirectory : _listen.LocalConnectHost,
            Port = _listen.Port,
            Username = credentials.Username,
            Password = credentials.Password,
            Database = "postgres",
            ApplicationName = "pgha",
            Timeout = Math.Max(1, (int)Math.Ceiling(_options.ConnectTimeout.TotalSeconds)),
            CommandTimeout = Math.Max(1, (int)Math.Ceiling(_options.QueryTimeout.TotalSeconds)),
            // A fresh connection per call: PostgreSQL restarts under the agent, and a pool would hand out dead sockets.
            Pooling = false,
            Enlist = false,
        };
        credentials.EffectiveConnection.ApplyTo(csb, unixSocket: socket);
        return csb;
    }

    private async Task<NpgsqlConnection> OpenLocalAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(LocalConnectionString(_options.Superuser).ConnectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static (string Host, int Port) Endpoint(Cluster.Member member)
    {
        if (member.ConnHost is not { } host || member.ConnPort is not { } port)
            throw new InvalidOperationException($"member {member.Name} has no usable conn_url ('{member.ConnUrl}')");
        return (host, port);
    }

    /// <summary>True for errors that mean "PostgreSQL does not answer" rather than "the agent is misconfigured".</summary>
    private static bool IsNotAnswering(Exception ex) => ex switch
    {
        PostgresException pg => !pg.SqlState.StartsWith("28", StringComparison.Ordinal) && pg.SqlState != "3D000",
        NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException => true,
        _ => false,
    };

    // ---- pg_ctl ---------------------------------------------------------------------------------------------------

    private async Task<ProcessResult> PgCtlAsync(IEnumerable<string> arguments, CancellationToken ct)
    {
        // pg_ctl enforces -t itself; this bound only catches a pg_ctl that hangs beyond it.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.PgCtlTimeout + TimeSpan.FromSeconds(15));
        return await ProcessRunner.RunAsync(Tool("pg_ctl"), arguments, cts.Token, killTree: false).ConfigureAwait(false);
    }

    /// <summary>Starts the postmaster with pg_ctl start -w and watches it; throws when it does not come up.</summary>
    private async Task<int> StartPostmasterAsync(string role, string why, CancellationToken ct)
    {
        PostgresLog.Starting(_logger, role, why);
        var started = Stopwatch.StartNew();
        await WaitForStalePostmasterToBeReapedAsync(ct).ConfigureAwait(false);
        EnsureStateDirectory();
        var result = await PgCtlAsync(["start", "-D", DataDir, "-w", "-t", PgCtlTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "-l", PostmasterLogPath], ct).ConfigureAwait(false);
        var pid = LivePostmasterPid();
        if (!result.Succeeded || pid is null)
            throw new InvalidOperationException($"pg_ctl start failed: {result.LastMessage} (see {PostmasterLogPath})");
        _watcher.Watch(pid.Value);
        PostgresLog.Started(_logger, role, pid.Value, started.Elapsed);
        return pid.Value;
    }

    /// <summary>
    /// PostgreSQL refuses to start while postmaster.pid names a process that kill(0) finds, and a killed postmaster
    /// stays a zombie until init reaps it (instantly under systemd, about 2 s in some containers). A zombie is dead:
    /// its lock file is removed, exactly as PostgreSQL removes the lock file of a vanished postmaster itself. Backends it
    /// orphaned are still caught by PostgreSQL's own shared-memory interlock, which refuses to start over them.
    /// </summary>
    private Task WaitForStalePostmasterToBeReapedAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var lockFile = Path.Combine(DataDir, "postmaster.pid");
        string? first;
        try { first = File.ReadLines(lockFile).FirstOrDefault(); }
        catch (FileNotFoundException) { return Task.CompletedTask; }
        catch (DirectoryNotFoundException) { return Task.CompletedTask; }
        if (int.TryParse(first?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Posix.IsZombie(pid))
        {
            PostgresLog.StaleLockRemoved(_logger, pid);
            File.Delete(lockFile);
            // The socket's lock file names the same dead postmaster and would stop the start just the same.
            if (_options.UnixSocketDirectory.Length > 0)
            {
                var socketLock = Path.Combine(_options.UnixSocketDirectory, $".s.PGSQL.{_listen.Port.ToString(CultureInfo.InvariantCulture)}.lock");
                try
                {
                    if (File.ReadLines(socketLock).FirstOrDefault()?.Trim() == pid.ToString(CultureInfo.InvariantCulture)) File.Delete(socketLock);
                }
                catch (FileNotFoundException) { }
                catch (DirectoryNotFoundException) { }
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the postmaster (SIGINT = fast, SIGQUIT = immediate shutdown, as pg_ctl stop sends them) and returns the
    /// moment it has exited: its exit is polled every 10 ms, where pg_ctl stop -w looks only every 100 ms, and a
    /// switchover's write outage lasts until this returns. Kills it and its children when it does not exit within
    /// pg_ctl_timeout.
    /// </summary>
    private async Task StopPostmasterAsync(string mode, string demoteMode, CancellationToken ct)
    {
        if (LivePostmasterPid() is not { } pid) return;
        _watcher.ExpectExit();
        PostgresLog.Stopping(_logger, mode, demoteMode);
        var started = Stopwatch.StartNew();
        string error;
        if (!Posix.Signal(pid, mode == "fast" ? Posix.SIGINT : Posix.SIGQUIT))
            error = $"could not signal postmaster {pid}";
        else
        {
            var until = _time.GetUtcNow() + _options.PgCtlTimeout;
            while (Posix.IsAlive(pid) && _time.GetUtcNow() < until)
                await Task.Delay(TimeSpan.FromMilliseconds(10), _time, ct).ConfigureAwait(false);
            error = $"still running after pg_ctl_timeout ({_options.PgCtlTimeout.TotalSeconds:0} s)";
        }
        if (!Posix.IsAlive(pid))
        {
            PostgresLog.Stopped(_logger, started.Elapsed);
            return;
        }
        KillPostmaster(pid);
        PostgresLog.Killed(_logger, pid, error);
        var killedUntil = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (Posix.IsAlive(pid) && _time.GetUtcNow() < killedUntil)
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct).ConfigureAwait(false);
        if (Posix.IsAlive(pid)) throw new InvalidOperationException($"postmaster {pid} survived SIGKILL");
    }

    /// <summary>SIGKILL to the postmaster, its process group and each child's process group (backends lead their own).</summary>
    private static void KillPostmaster(int pid)
    {
        var children = Posix.ChildrenOf(pid);
        Posix.Signal(-pid, Posix.SIGKILL);
        Posix.Signal(pid, Posix.SIGKILL);
        foreach (var child in children)
        {
            Posix.Signal(-child, Posix.SIGKILL);
            Posix.Signal(child, Posix.SIGKILL);
        }
    }

    /// <summary>
    /// A postmaster runs but does not answer (starting up, crash recovery, shutting down): waits for it instead of
    /// starting a second one. Returns whether it answers as a primary (null: it exited meanwhile).
    /// </summary>
    private async Task<bool?> WaitForPostmasterAsync(int pid, CancellationToken ct)
    {
        var until = _time.GetUtcNow() + _options.PgCtlTimeout;
        var logged = false;
        while (true)
        {
            if (!Posix.IsAlive(pid)) return null;
            try
            {
                await using var conn = await OpenLocalAsync(ct).ConfigureAwait(false);
                await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
                var inRecovery = (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                _watcher.Watch(pid);
                return !inRecovery;
            }
            catch (Exception ex) when (IsNotAnswering(ex) && !ct.IsCancellationRequested)
            {
                if (_time.GetUtcNow() > until) throw new InvalidOperationException($"the postmaster (pid {pid}) runs but has not answered within pg_ctl_timeout: {ex.Message}", ex);
                // Logged only when it did not answer at once: every follow of a running replica comes through here.
                if (!logged) PostgresLog.WaitingForPostmaster(_logger, pid, _options.PgCtlTimeout);
                logged = true;
                await Task.Delay(TimeSpan.FromMilliseconds(200), _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> AnswersAsPrimaryAsync(CancellationToken ct)
    {
        await using var conn = await OpenLocalAsync(ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
        return !(bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var conn = await OpenLocalAsync(ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Parses a <c>12345/67890 kB (18%)</c> progress line of pg_basebackup or pg_rewind and logs it.</summary>
    private void ReportProgress(string operation, string line)
    {
        var m = ProgressLine().Match(line);
        if (!m.Success) return;
        PostgresLog.Progress(_logger, operation,
            long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(\d+)/(\d+) kB \((\d+)%\)")]
    private static partial System.Text.RegularExpressions.Regex ProgressLine();
}
