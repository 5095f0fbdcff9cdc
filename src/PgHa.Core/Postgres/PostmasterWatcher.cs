namespace PgHa.Postgres;

/// <summary>
/// Notices at once when the watched postmaster exits: a dedicated thread blocks in poll(2) on a pidfd (Linux 5.3+),
/// falling back to kill(pid, 0) every 100 ms. Exits the controller announced (<see cref="ExpectExit"/>) are not
/// reported; every other one calls the callback, on the watcher thread.
/// </summary>
internal sealed class PostmasterWatcher : IDisposable
{
    private readonly Action<int, bool> _onUnexpectedExit;
    private readonly object _gate = new();
    private Watched? _current;
    private bool _disposed;

    /// <param name="onUnexpectedExit">Called with the pid and whether the pidfd (not polling) noticed it.</param>
    public PostmasterWatcher(Action<int, bool> onUnexpectedExit) => _onUnexpectedExit = onUnexpectedExit;

    private sealed class Watched(int pid)
    {
        public int Pid { get; } = pid;
        public volatile bool Stopped;
        public volatile bool Expected;
        public ManualResetEventSlim Nap { get; } = new();
    }

    /// <summary>Watches <paramref name="pid"/> (a no-op when already watching it); stops watching any other.</summary>
    public void Watch(int pid)
    {
        Watched w;
        lock (_gate)
        {
            if (_disposed) return;
            if (_current is { Stopped: false } c && c.Pid == pid) return;
            if (_current is not null) _current.Stopped = true;
            w = _current = new Watched(pid);
        }
        var thread = new Thread(() => Run(w), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "pgha-postmaster-watch",
        };
        thread.Start();
    }

    /// <summary>The next exit of the watched postmaster is the controller's own doing (stop, rewind): do not report it.</summary>
    public void ExpectExit()
    {
        lock (_gate) if (_current is not null) _current.Expected = true;
    }

    /// <summary>Stops watching.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_current is not null) _current.Stopped = true;
            _current = null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate) _disposed = true;
        Stop();
    }

    private void Run(Watched w)
    {
        var fd = Posix.PidFdOpen(w.Pid);
        var viaPidFd = fd >= 0;
        try
        {
            while (!w.Stopped)
            {
                bool exited;
                if (viaPidFd) exited = Posix.WaitPidFd(fd, 250);
                else
                {
                    exited = !Posix.IsAlive(w.Pid);
                    // 100 ms between probes, as a blocking wait: this thread is real-time by nature, not the loop's clock.
                    if (!exited) w.Nap.Wait(100);
                }
                if (!exited) continue;
                lock (_gate)
                {
                    if (ReferenceEquals(_current, w)) _current = null;
                }
                if (!w.Stopped && !w.Expected) _onUnexpectedExit(w.Pid, viaPidFd);
                return;
            }
        }
        finally
        {
            if (fd >= 0) Posix.Close(fd);
        }
    }
}
