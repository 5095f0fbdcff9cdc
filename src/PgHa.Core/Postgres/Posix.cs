using System.Runtime.InteropServices;

namespace PgHa.Postgres;

/// <summary>The few libc calls the controller needs: signals, liveness, pidfd (Linux 5.3+).</summary>
internal static class Posix
{
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    private const int ESRCH = 3;
    private const int EPERM = 1;
    private const long SYS_pidfd_open = 434; // the same number on every Linux architecture (unified syscall table)
    private const short POLLIN = 0x001;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SysCall(long number, int pid, uint flags);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int SysPoll(ref PollFd fds, nuint count, int timeoutMs);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int SysClose(int fd);

    /// <summary>
    /// True when a process with this pid exists and has not exited. A zombie (exited, not yet reaped by its parent —
    /// an orphaned postmaster waits for init, which may take seconds in a container) counts as dead, although kill(0)
    /// still succeeds for it.
    /// </summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        if (SysKill(pid, 0) != 0 && Marshal.GetLastPInvokeError() != EPERM) return false;
        return !IsZombie(pid);
    }

    /// <summary>True while <paramref name="pid"/> exists only as a zombie (or is being reaped).</summary>
    public static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Sends a signal; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => pid != 0 && SysKill(pid, signal) == 0;

    /// <summary>A pidfd for <paramref name="pid"/>, or -1 when the kernel has no pidfd_open (or the process is gone).</summary>
    public static int PidFdOpen(int pid)
    {
        var fd = SysCall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -1 : (int)fd;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for the process behind <paramref name="pidFd"/> to exit; true once it has.
    /// </summary>
    public static bool WaitPidFd(int pidFd, int timeoutMs)
    {
        var p = new PollFd { Fd = pidFd, Events = POLLIN };
        var n = SysPoll(ref p, 1, timeoutMs);
        return n > 0 && (p.Revents & POLLIN) != 0;
    }

    /// <summary>Closes a file descriptor.</summary>
    public static void Close(int fd) => SysClose(fd);

    /// <summary>True when the last failed call said "no such process".</summary>
    public static bool LastErrorWasNoSuchProcess() => Marshal.GetLastPInvokeError() == ESRCH;

    /// <summary>The children of <paramref name="pid"/> (from /proc), for killing a postmaster's backends.</summary>
    public static IReadOnlyList<int> ChildrenOf(int pid)
    {
        var result = new List<int>();
        var childrenFile = $"/proc/{pid}/task/{pid}/children";
        try
        {
            if (File.Exists(childrenFile))
            {
                foreach (var s in File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(s, out var c)) result.Add(c);
                return result;
            }
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var candidate)) continue;
                string stat;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (rest.Length > 1 && rest[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture)) result.Add(candidate);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return result;
    }
}
