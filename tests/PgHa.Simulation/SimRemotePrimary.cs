using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Simulation;

/// <summary>
/// The primary of another cluster that a standby cluster (<c>standby_cluster</c>) replicates from: a source of WAL
/// that keeps writing, can fail over cleanly to a new timeline, and can become unreachable — as a whole (outage) or
/// from single nodes (partition). It is no member: the checker never counts its writes.
/// </summary>
public sealed class SimRemotePrimary
{
    private readonly HashSet<int> _cutFrom = [];

    /// <summary>Sets up a running remote primary with its own system identifier and history.</summary>
    public SimRemotePrimary(SimScheduler scheduler, string systemId, StandbyClusterConfig section)
    {
        ArgumentNullException.ThrowIfNull(section);
        Section = section;
        Server = new SimPostgresServer(scheduler, "remote")
        {
            Initialized = true,
            SystemId = systemId,
            Branch = SimPostgresServer.NewBranch(),
            Timeline = 1,
            Lsn = 0x5000000,
            Role = PostgresRole.Primary,
            Running = true,
        };
    }

    /// <summary>The <c>standby_cluster</c> section that points at this remote.</summary>
    public StandbyClusterConfig Section { get; }

    /// <summary>The remote's PostgreSQL (its history is what the standby cluster copies).</summary>
    public SimPostgresServer Server { get; }

    /// <summary>What a node following this remote records as its upstream (<see cref="StandbyClusterConfig.UpstreamName"/>).</summary>
    public string UpstreamName => Section.UpstreamName;

    /// <summary>Fault: the remote is down or unreachable from everybody.</summary>
    public bool Down { get; set; }

    /// <summary>Can node <paramref name="node"/> stream from (or clone) the remote right now?</summary>
    public bool Reachable(int node) => !Down && Server.Running && !_cutFrom.Contains(node);

    /// <summary>Cut or restore node↔remote.</summary>
    public void SetCut(int node, bool cut)
    {
        if (cut) _cutFrom.Add(node);
        else _cutFrom.Remove(node);
    }

    /// <summary>The remote cluster fails over without losing anything: a new timeline branch from its current position.</summary>
    public void SwitchTimeline() => Server.Promote();

    /// <summary>Heals every remote fault.</summary>
    public void HealAll()
    {
        Down = false;
        _cutFrom.Clear();
    }
}
