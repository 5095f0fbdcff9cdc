using PgHa.Callbacks;
using PgHa.Cluster;

namespace PgHa.Simulation;

/// <summary>
/// An agent incarnation's callbacks in virtual time: <c>pre_promote</c> takes a moment and refuses (exit 1) while the
/// node's refusal fault is on; <c>before_stop</c> takes a moment and succeeds; asynchronous callbacks only go to the
/// trace. Each pre_promote's verdict is kept on the node, so the checker can tell whether a promotion was allowed.
/// </summary>
public sealed class SimCallbacks(SimScheduler scheduler, SimActor actor, SimNode node, Action<string, string> record) : IPostgresCallbacks
{
    /// <inheritdoc />
    public void Notify(CallbackAction action, MemberRole role) =>
        record(node.Name, $"callback {CallbackActions.ToWire(action)} {PostgresCallbacks.RoleArgument(role)}");

    /// <inheritdoc />
    public async Task<CallbackOutcome?> RunPrePromoteAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        await Delay(0.2).ConfigureAwait(false);
        var code = node.PrePromoteRefuses ? 1 : 0;
        node.LastPrePromoteSucceeded = code == 0;
        if (code != 0) node.PrePromoteRefusals++;
        return new CallbackOutcome("pre_promote", code, false, TimeSpan.FromSeconds(0.2));
    }

    /// <inheritdoc />
    public async Task<CallbackOutcome?> RunBeforeStopAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        await Delay(0.05).ConfigureAwait(false);
        return new CallbackOutcome("before_stop", 0, false, TimeSpan.FromSeconds(0.05));
    }

    private Task Delay(double seconds)
    {
        var tcs = new TaskCompletionSource();
        scheduler.After(TimeSpan.FromSeconds(seconds), actor, tcs.SetResult);
        return tcs.Task;
    }
}
