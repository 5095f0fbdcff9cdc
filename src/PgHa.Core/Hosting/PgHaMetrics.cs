using System.Diagnostics.Metrics;

namespace PgHa.Hosting;

/// <summary>
/// The node's instruments on the <c>PgHa</c> meter (<see cref="MeterName"/>). Gauges and cycle counters are observed
/// from the running loop when a listener collects, so an idle exporter costs nothing.
/// </summary>
/// <remarks>
/// Instruments (all tagged <c>pgha.scope</c> and <c>pgha.member</c>): <c>pgha.role</c> (the <see cref="PgHaRole"/>
/// value), <c>pgha.leader_lock.held</c> (1 while this node holds the lock with a valid guarantee),
/// <c>pgha.dcs.reachable</c> (1 when the last cycle could read the DCS), <c>pgha.postgres.timeline</c>,
/// <c>pgha.cycles</c> and <c>pgha.cycles.failed</c> (HA cycles run, and those that ended with an unexpected exception),
/// and <c>pgha.role.changes</c> (tagged <c>pgha.role.from</c>/<c>pgha.role.to</c>).
/// </remarks>
public sealed class PgHaMetrics : IDisposable
{
    /// <summary>The meter's name, to enable with <c>AddMeter("PgHa")</c> in OpenTelemetry or <c>dotnet-counters --counters PgHa</c>.</summary>
    public const string MeterName = "PgHa";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _roleChanges;
    private readonly KeyValuePair<string, object?>[] _tags;

    internal PgHaMetrics(PgHaNode node, IMeterFactory? meterFactory)
    {
        _tags = [new("pgha.scope", node.Scope), new("pgha.member", node.Name)];
        var options = new MeterOptions(MeterName) { Version = PgHaNode.Version };
        if (meterFactory is not null) _meter = meterFactory.Create(options);
        else
        {
            _meter = new Meter(options);
            _ownsMeter = true;
        }
        _meter.CreateObservableGauge("pgha.role", () => new Measurement<int>((int)node.Role, _tags),
            description: "The node's role: 0 unknown, 1 uninitialized, 2 stopped, 3 replica, 4 primary, 5 primary without lock.");
        _meter.CreateObservableGauge("pgha.leader_lock.held", () => new Measurement<int>(PgHaNode.HoldsLock(node.Loop.Memory, node.Time.GetUtcNow()) ? 1 : 0, _tags),
            description: "1 while this node holds the leader lock with a valid guarantee.");
        _meter.CreateObservableGauge("pgha.dcs.reachable", () => new Measurement<int>(node.Loop.LastCycle is { Cluster: not null } ? 1 : 0, _tags),
            description: "1 when the last HA cycle could read the DCS.");
        _meter.CreateObservableGauge("pgha.postgres.timeline", () => new Measurement<int>(node.Loop.LastCycle?.Postgres.Timeline ?? 0, _tags),
            description: "The local PostgreSQL's timeline as last observed (0: unknown).");
        _meter.CreateObservableCounter("pgha.cycles", () => new Measurement<long>(node.Loop.CycleCount, _tags), unit: "{cycle}",
            description: "HA cycles run.");
        _meter.CreateObservableCounter("pgha.cycles.failed", () => new Measurement<long>(node.Loop.FailedCycles, _tags), unit: "{cycle}",
            description: "HA cycles that ended with an unexpected exception (a bug); the loop carried on.");
        _roleChanges = _meter.CreateCounter<long>("pgha.role.changes", unit: "{change}", description: "Role changes of this node.");
    }

    internal void RoleChanged(PgHaRole previous, PgHaRole current) =>
        _roleChanges.Add(1, [.. _tags, new("pgha.role.from", previous.ToString()), new("pgha.role.to", current.ToString())]);

    /// <inheritdoc />
    public void Dispose()
    {
        // A factory's meters belong to the factory, which disposes them with the container.
        if (_ownsMeter) _meter.Dispose();
    }
}
