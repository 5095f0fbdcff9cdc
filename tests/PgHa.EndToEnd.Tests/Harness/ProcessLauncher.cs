using System.Diagnostics;
using System.Text;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>Starts a process with stdout and stderr appended to a file (by the kernel, not by this process), and reads log tails.</summary>
internal static class ProcessLauncher
{
    /// <summary>
    /// Starts <paramref name="file"/> with <paramref name="args"/> through <c>sh -c 'exec …'</c>, so the returned
    /// process (and its pid) is the program itself, and its output goes straight into <paramref name="logPath"/>.
    /// </summary>
    public static Process StartLogged(string logPath, string file, params string[] args)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(logPath);
        start.ArgumentList.Add(file);
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
    }

    /// <summary>Runs a command to completion; returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout, TimeProvider.System);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await stdout, await stderr + $"\n(killed after {timeout.TotalSeconds:0} s)");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The last <paramref name="lines"/> lines of a file, or a note that it does not exist.</summary>
    public static string Tail(string path, int lines)
    {
        try
        {
            if (!File.Exists(path)) return $"({path} does not exist)";
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            // Logs are small here; read at most the last 256 KiB.
            if (stream.Length > 256 * 1024) stream.Seek(-256 * 1024, SeekOrigin.End);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n');
            var count = all.Length > 0 && all[^1].Length == 0 ? all.Length - 1 : all.Length;
            return string.Join('\n', all.Take(count).TakeLast(lines));
        }
        catch (IOException ex)
        {
            return $"(cannot read {path}: {ex.Message})";
        }
    }
}
