using Microsoft.Extensions.Diagnostics.HealthChecks;
using PgHa.Decisions;

namespace PgHa.Hosting;

/// <summary>
/// The embedded node's health for <c>Microsoft.Extensions.Diagnostics.HealthChecks</c>, judged from memory (never
/// blocks on the DCS or PostgreSQL): unhealthy when the HA loop has stalled or PostgreSQL is down without an action that
/// explains it, degraded before the first cycle or while the DCS is unreachable, healthy otherwise. The data carries the
/// role, the timeline, the leader and the reason of the last decision.
/// </summary>
public sealed class PgHaHealthCheck : IHealthCheck
{
    private readonly IPgHaNode _node;
    private readonly TimeProvider _time;

    /// <summary>Checks <paramref name="node"/>, with ages measured on <paramref name="timeProvider"/>.</summary>
    public PgHaHealthCheck(IPgHaNode node, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _node = node;
        _time = timeProvider;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy));

    private HealthCheckResult Check(HealthStatus failureStatus)
    {
        var now = _time.GetUtcNow();
        var loop = _node.Loop;
        var last = loop.LastCycle;
        if (last is null) return HealthCheckResult.Degraded("no HA cycle has completed yet", data: Data(PgHaRole.Unknown, null));
        var settings = loop.Settings;
        var memory = loop.Memory;
        var role = _node.Role;
        var data = Data(role, last);
        // A healthy loop starts a cycle every loop_wait; one DCS and one PostgreSQL deadline on top is the most a slow cycle takes.
        var stalledAfter = settings.LoopWait + 2 * settings.RetryTimeout;
        if (now - last.At > stalledAfter)
            return new HealthCheckResult(failureStatus, $"the HA loop has not completed a cycle for {(now - last.At).TotalSeconds:0} s (limit loop_wait + 2*retry_timeout = {stalledAfter.TotalSeconds:0} s)", data: data);
        if (last.Cluster is null)
            return HealthCheckResult.Degraded("the DCS was not reachable in the last HA cycle", data: data);
        if (last.Postgres.DataDirectory == DataDirectoryState.Initialized && !last.Postgres.IsRunning && memory.Busy is null && !settings.Pause)
            return new HealthCheckResult(failureStatus, "PostgreSQL is not running", data: data);
        return HealthCheckResult.Healthy($"{role.ToString().ToLowerInvariant()}: {last.Plan.Reason}", data);
    }

    private static Dictionary<string, object> Data(PgHaRole role, Loop.HaCycleResult? last)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["role"] = role.ToString() };
        if (last is null) return data;
        data["timeline"] = last.Postgres.Timeline;
        data["last_cycle"] = last.At;
        if (last.Cluster?.Leader?.Holder is { } leader) data["leader"] = leader;
        data["reason"] = last.Plan.Reason;
        return data;
    }
}
