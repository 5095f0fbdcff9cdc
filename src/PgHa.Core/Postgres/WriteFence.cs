using System.Globalization;
using Microsoft.Extensions.Logging;

namespace PgHa.Postgres;

/// <summary>
/// The agent's side of the write fence: writes the deadline file the fencer process polls, starts that process when
/// it is not running (one per data directory, detached with <c>setsid</c> so it outlives the agent), and answers
/// whether the fence has tripped. See <c>pgha-fencer.sh</c> for the other side.
/// </summary>
internal sealed class WriteFence
{
    private const string ScriptName = "pgha-fencer.sh";
    private readonly PostgresControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _trippedLogged;

    public WriteFence(PostgresControllerOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    private string StateDir => _options.EffectiveStateDirectory;

    /// <summary>The deadline file.</summary>
    public string DeadlinePath => Path.Combine(StateDir, "fence.deadline");

    /// <summary>The fencer's pid file.</summary>
    public string PidPath => Path.Combine(StateDir, "fencer.pid");

    /// <summary>The fencer's log.</summary>
    public string LogPath => Path.Combine(StateDir, "fencer.log");

    /// <summary>
    /// Arms or moves the fence to <paramref name="until"/> (converted to CLOCK_BOOTTIME, rounded down so it never
    /// fires late), or disarms it (null). Returns once the fencer that enforces it runs.
    /// </summary>
    public async Task SetAsync(DateTimeOffset? until, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!Directory.Exists(StateDir))
            {
                Directory.CreateDirectory(StateDir);
                PostgresConfigFiles.SetMode(StateDir, PostgresConfigFiles.OwnerOnlyDirectory);
            }
            if (until is null)
            {
                PostgresConfigFiles.WriteAtomic(DeadlinePath, "none\n");
                _trippedLogged = false;
                PostgresLog.FenceDisarmed(_logger);
                // Started while disarmed, so a replica that wins a failover does not pay the fencer's start-up (about
                // 0.15 s) between taking the lock and promoting.
                await EnsureFencerAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            var remaining = until.Value - _time.GetUtcNow();
            var deadline = BootClock.NowCentiseconds() + (long)Math.Floor(remaining.TotalMilliseconds / 10);
            PostgresConfigFiles.WriteAtomic(DeadlinePath, deadline.ToString(CultureInfo.InvariantCulture) + "\n");
            if (remaining > TimeSpan.Zero) _trippedLogged = false;
            PostgresLog.FenceArmed(_logger, until.Value, remaining);
            await EnsureFencerAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// True while an armed deadline has passed (PostgreSQL may not run as a primary). A missing deadline file reads
    /// as tripped only while a fencer runs (it reads it the same way); before the first arming there is no fence.
    /// </summary>
    public bool IsTripped()
    {
        string? line;
        try { line = File.ReadLines(DeadlinePath).FirstOrDefault()?.Trim(); }
        catch (FileNotFoundException) { line = null; }
        catch (DirectoryNotFoundException) { line = null; }
        bool tripped = line switch
        {
            null => FencerPid() is not null,
            "none" or "exit" => false,
            _ => !long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var deadline) || BootClock.NowCentiseconds() >= deadline,
        };
        if (tripped && !_trippedLogged)
        {
            _trippedLogged = true;
            PostgresLog.FenceTripped(_logger, line ?? "<missing>");
        }
        return tripped;
    }

    /// <summary>The pid of the running fencer of this data directory, or null.</summary>
    public int? FencerPid()
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(PidPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return null;
            if (!Posix.IsAlive(pid)) return null;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return cmdline.Any(a => a.EndsWith(ScriptName, StringComparison.Ordinal)) && cmdline.Contains(_options.DataDirectory) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Starts the fencer unless it runs; waits until it has written its pid file.</summary>
    public async Task EnsureFencerAsync(CancellationToken cancellationToken)
    {
        if (FencerPid() is not null) return;
        var script = Path.Combine(StateDir, ScriptName);
        var content = LoadScript();
        if (!File.Exists(script) || File.ReadAllText(script) != content)
        {
            PostgresConfigFiles.WriteAtomic(script, content);
            PostgresConfigFiles.SetMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var poll = _options.FencePollInterval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        // setsid -f: a new session and process group, so the fencer survives the agent and signals sent to its group.
        // Its stdio goes to the log file: it must hold none of the agent's pipes.
        var result = await ProcessRunner.RunAsync("setsid",
            ["-f", "/bin/sh", "-c", "exec bash \"$0\" \"$@\" </dev/null >>\"$LOG\" 2>&1", script, _options.DataDirectory, StateDir, poll],
            cancellationToken, new Dictionary<string, string?> { ["LOG"] = LogPath }).ConfigureAwait(false);
        if (!result.Succeeded) throw new InvalidOperationException($"could not start the fencer: {result.LastMessage}");
        var until = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (true)
        {
            if (FencerPid() is { } pid)
            {
                PostgresLog.FencerStarted(_logger, pid, _options.DataDirectory);
                return;
            }
            if (_time.GetUtcNow() > until) throw new InvalidOperationException($"the fencer did not come up within 5 s (see {LogPath})");
            await Task.Delay(TimeSpan.FromMilliseconds(10), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the fencer to exit (clean shutdown of a node that is no longer a primary) and waits up to 2 s.</summary>
    public async Task StopFencerAsync(CancellationToken cancellationToken)
    {
        if (FencerPid() is not { } pid) return;
        PostgresConfigFiles.WriteAtomic(DeadlinePath, "exit\n");
        var until = _time.GetUtcNow() + TimeSpan.FromSeconds(2);
        while (Posix.IsAlive(pid) && _time.GetUtcNow() < until)
            await Task.Delay(TimeSpan.FromMilliseconds(10), _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The fencer script shipped inside this assembly.</summary>
    public static string LoadScript()
    {
        using var stream = typeof(WriteFence).Assembly.GetManifestResourceStream("PgHa.Postgres." + ScriptName)
            ?? throw new InvalidOperationException("the fencer script is missing from PgHa.Core");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
