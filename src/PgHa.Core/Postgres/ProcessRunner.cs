using System.Diagnostics;
using System.Text;

namespace PgHa.Postgres;

/// <summary>The outcome of one external command.</summary>
/// <param name="ExitCode">Exit status.</param>
/// <param name="StandardOutput">Everything written to stdout.</param>
/// <param name="StandardError">Everything written to stderr.</param>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>True for exit status 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last non-empty stderr line (or stdout's), for error messages.</summary>
    public string LastMessage
    {
        get
        {
            var text = StandardError.Trim().Length > 0 ? StandardError : StandardOutput;
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? $"exit status {ExitCode}" : lines[^1];
        }
    }
}

/// <summary>
/// Runs PostgreSQL's command-line tools: no shell, stdin from /dev/null, the C locale (their output is parsed),
/// passwords through the environment, every output line handed to an optional observer (progress reports).
/// </summary>
internal static class ProcessRunner
{
    /// <summary>
    /// Runs <paramref name="file"/> and waits for it. On cancellation the process is killed — with its descendants
    /// when <paramref name="killTree"/> (pg_basebackup, pg_rewind), alone otherwise (<c>pg_ctl start</c> must not take
    /// the postmaster it launched down with it) — and the cancellation propagates.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string?>? environment = null,
        Action<string>? onLine = null,
        bool killTree = true)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["LANG"] = "C";
        psi.Environment.Remove("PGPASSWORD");
        psi.Environment.Remove("PGPASSFILE");
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            }
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var outDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => Collect(e.Data, stdout, outDone, onLine);
        process.ErrorDataReceived += (_, e) => Collect(e.Data, stderr, errDone, onLine);
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or FileNotFoundException)
        {
            throw new InvalidOperationException($"cannot run {file}: {ex.Message}", ex);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(outDone.Task, errDone.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: killTree); }
            catch (InvalidOperationException) { /* already exited */ }
            throw;
        }
        lock (stdout) lock (stderr) return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static void Collect(string? line, StringBuilder sink, TaskCompletionSource done, Action<string>? onLine)
    {
        if (line is null)
        {
            done.TrySetResult();
            return;
        }
        lock (sink) sink.Append(line).Append('\n');
        // Progress reports on a terminal are separated by CR; split them so each one is seen.
        if (onLine is null) return;
        foreach (var part in line.Split('\r', StringSplitOptions.RemoveEmptyEntries)) onLine(part);
    }
}
