using Microsoft.Extensions.Logging;

namespace PgHa.Callbacks;

/// <summary>
/// Runs a synchronous hook (<c>pre_promote</c>, <c>before_stop</c>) and waits for it, but never longer than the bound
/// the caller gives: a command still running then is killed with its whole process group, so a hanging script
/// cannot hold up a promotion or a stop.
/// </summary>
internal sealed class CallbackRunner(TimeProvider time, ILogger logger)
{
    // After SIGKILL the exit is immediate; the wait only reaps the process.
    private static readonly TimeSpan ReapWait = TimeSpan.FromSeconds(5);

    /// <summary>Runs <paramref name="argv"/> as <paramref name="name"/> for at most <paramref name="limit"/>.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the command was killed.</exception>
    public async Task<CallbackOutcome> RunAsync(string name, IReadOnlyList<string> argv, TimeSpan limit, CancellationToken cancellationToken)
    {
        CallbackProcess process;
        try
        {
            process = CallbackProcess.Start(argv, time);
        }
        catch (InvalidOperationException ex)
        {
            CallbackLog.NotStarted(logger, name, ex.Message);
            return new CallbackOutcome(name, null, false, TimeSpan.Zero, ex.Message);
        }
        using (process)
        {
            CallbackLog.Started(logger, name, process.Pid, string.Join(' ', argv));
            try
            {
                var code = await process.Exited.WaitAsync(limit, time, cancellationToken).ConfigureAwait(false);
                CallbackLog.Exited(logger, code == 0 ? LogLevel.Information : LogLevel.Warning, name, code, process.Elapsed);
                return new CallbackOutcome(name, code, false, process.Elapsed);
            }
            catch (TimeoutException)
            {
                process.Kill();
                await ReapAsync(process).ConfigureAwait(false);
                CallbackLog.Killed(logger, name, process.Pid, process.Elapsed, $"still running at its bound of {limit.TotalSeconds:0.###} s");
                return new CallbackOutcome(name, null, true, process.Elapsed);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await ReapAsync(process).ConfigureAwait(false);
                CallbackLog.Killed(logger, name, process.Pid, process.Elapsed, "the agent stopped waiting for it");
                throw;
            }
        }
    }

    private async Task ReapAsync(CallbackProcess process)
    {
        try { await process.Exited.WaitAsync(ReapWait, time).ConfigureAwait(false); }
        catch (TimeoutException) { /* a process in uninterruptible sleep; the kernel delivers SIGKILL when it wakes */ }
    }
}
