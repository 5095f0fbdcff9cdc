using System.Diagnostics;
using PgHa.Postgres;

namespace PgHa.Callbacks;

/// <summary>
/// One running callback command, started through <c>setsid</c> so it leads a process group (and session) of its own:
/// killing it takes everything it spawned down with it, and signals aimed at the agent's group never reach it. No
/// shell is involved; stdin is empty, stdout and stderr are the agent's. The command runs as the agent's user.
/// </summary>
internal sealed class CallbackProcess : IDisposable
{
    private readonly Process _process;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private int _killed;
    private long _exitedAt;

    private CallbackProcess(Process process, TimeProvider time)
    {
        _process = process;
        _time = time;
        _startedAt = time.GetTimestamp();
        Pid = process.Id;
        Exited = WaitAsync();
    }

    /// <summary>The process id, which is also its process group id.</summary>
    public int Pid { get; }

    /// <summary>Completes with the exit status once the process has exited (killed: 128 + signal, as a shell reports it).</summary>
    public Task<int> Exited { get; }

    /// <summary>How long the process has been running, or ran until it exited.</summary>
    public TimeSpan Elapsed => Interlocked.Read(ref _exitedAt) is var end and not 0
        ? _time.GetElapsedTime(_startedAt, end)
        : _time.GetElapsedTime(_startedAt);

    /// <summary>True once <see cref="Kill"/> sent its signals to a process that was still running.</summary>
    public bool WasKilled => Volatile.Read(ref _killed) != 0;

    /// <summary>Starts <paramref name="argv"/> (program first).</summary>
    /// <exception cref="InvalidOperationException">The program cannot be run (missing, not executable, no setsid).</exception>
    public static CallbackProcess Start(IReadOnlyList<string> argv, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfZero(argv.Count);
        // Said plainly here rather than as setsid's own error and exit status 1, which reads like the command failing.
        if (argv[0].Contains('/', StringComparison.Ordinal) && !File.Exists(argv[0]))
            throw new InvalidOperationException($"cannot run {argv[0]}: no such file");
        // setsid(1) from util-linux (as the write fence uses): a child of the agent is never a group leader, so setsid
        // calls setsid(2) and execs the command in the same process; --wait only matters if it ever had to fork.
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true };
        psi.ArgumentList.Add("--wait");
        foreach (var a in argv) psi.ArgumentList.Add(a);
        var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or FileNotFoundException)
        {
            process.Dispose();
            throw new InvalidOperationException($"cannot run setsid to start {argv[0]}: {ex.Message}", ex);
        }
        process.StandardInput.Close();
        return new CallbackProcess(process, time);
    }

    private async Task<int> WaitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _exitedAt, _time.GetTimestamp());
        return _process.ExitCode;
    }

    /// <summary>
    /// Kills the command and everything it started, if it is still running: first its process tree (stopped, then
    /// killed, so it cannot fork meanwhile), then its whole process group, which also catches descendants that were
    /// reparented. A command that has exited is left alone, and so are the daemons it may have left behind on purpose.
    /// </summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        Interlocked.Exchange(ref _killed, 1);
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* exited meanwhile */ }
        catch (System.ComponentModel.Win32Exception) { /* not ours to kill any more */ }
        // The group id is the leader's pid; Linux does not hand that pid out again while any member of the group lives.
        Posix.Signal(-Pid, Posix.SIGKILL);
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}
