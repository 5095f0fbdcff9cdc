using System.Globalization;
using System.Runtime.InteropServices;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>Signals and the process table (/proc): what the scenarios inject and what teardown sweeps up.</summary>
internal static class Os
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    /// <summary>Sends <paramref name="signal"/>; false when the process is gone (or not ours).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && SysKill(pid, signal) == 0;

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0 || SysKill(pid, 0) != 0) return false;
        return State(pid) is not ('Z' or 'X' or null);
    }

    /// <summary>The process state letter from /proc/PID/stat (R, S, T, Z, …), or null when it is gone.</summary>
    public static char? State(int pid)
    {
        var stat = ReadStat(pid);
        return stat is null ? null : stat.Value.State;
    }

    /// <summary>One row of the process table.</summary>
    public sealed record ProcessInfo(int Pid, int ParentPid, string CommandLine);

    /// <summary>Every process this user can see, with its command line (arguments joined by spaces).</summary>
    public static IReadOnlyList<ProcessInfo> Processes()
    {
        var list = new List<ProcessInfo>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            var stat = ReadStat(pid);
            if (stat is null) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim(); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            list.Add(new ProcessInfo(pid, stat.Value.ParentPid, cmdline));
        }
        return list;
    }

    /// <summary>Processes whose command line contains <paramref name="fragment"/>, and all their descendants.</summary>
    public static IReadOnlyList<ProcessInfo> MatchingWithDescendants(string fragment)
    {
        var all = Processes();
        var self = Environment.ProcessId;
        var selected = new Dictionary<int, ProcessInfo>();
        foreach (var p in all.Where(p => p.Pid != self && p.CommandLine.Contains(fragment, StringComparison.Ordinal))) selected[p.Pid] = p;
        bool added;
        do
        {
            added = false;
            foreach (var p in all)
            {
                if (p.Pid == self || selected.ContainsKey(p.Pid) || !selected.ContainsKey(p.ParentPid)) continue;
                selected[p.Pid] = p;
                added = true;
            }
        } while (added);
        return [.. selected.Values];
    }

    /// <summary>Waits until <paramref name="pid"/> has exited (or is a zombie); true when it did within <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (IsAlive(pid))
        {
            if (TimeProvider.System.GetElapsedTime(started) > timeout) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return true;
    }

    private static (char State, int ParentPid)? ReadStat(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // pid (comm) S ppid …; comm may contain spaces and parentheses, so parse after the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0) return null;
        var rest = stat[(close + 2)..].Split(' ', 3);
        if (rest.Length < 2 || rest[0].Length != 1) return null;
        return int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? (rest[0][0], ppid) : null;
    }
}
