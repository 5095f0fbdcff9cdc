using Microsoft.Extensions.Logging;

namespace PgHa.Callbacks;

/// <summary>
/// Runs asynchronous callbacks one at a time, as Patroni's callback executor does: the agent never waits for them, and
/// a new callback first kills the previous one if it is still running (with its whole process group), so an old
/// event's script can never finish after, and undo, a newer one's.
/// </summary>
internal sealed class CallbackExecutor(TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private CallbackProcess? _running;

    /// <summary>
    /// Kills the running callback, if any, and starts <paramref name="argv"/> as <paramref name="name"/>. Returns at
    /// once; the task completes when the new command has exited or was killed (tests await it, the loop does not).
    /// </summary>
    public Task<CallbackOutcome> Call(string name, IReadOnlyList<string> argv)
    {
        lock (_gate)
        {
            _running?.Kill();
            CallbackProcess process;
            try
            {
                process = CallbackProcess.Start(argv, time);
            }
            catch (InvalidOperationException ex)
            {
                _running = null;
                CallbackLog.NotStarted(logger, name, ex.Message);
                return Task.FromResult(new CallbackOutcome(name, null, false, TimeSpan.Zero, ex.Message));
            }
            _running = process;
            CallbackLog.Started(logger, name, process.Pid, string.Join(' ', argv));
            return ObserveAsync(name, process);
        }
    }

    private async Task<CallbackOutcome> ObserveAsync(string name, CallbackProcess process)
    {
        var code = await process.Exited.ConfigureAwait(false);
        lock (_gate)
        {
            if (_running == process) _running = null;
        }
        var duration = process.Elapsed;
        process.Dispose();
        if (process.WasKilled)
        {
            CallbackLog.Killed(logger, name, process.Pid, duration, "a newer callback replaced it");
            return new CallbackOutcome(name, code, true, duration);
        }
        CallbackLog.Exited(logger, code == 0 ? LogLevel.Information : LogLevel.Warning, name, code, duration);
        return new CallbackOutcome(name, code, false, duration);
    }
}
