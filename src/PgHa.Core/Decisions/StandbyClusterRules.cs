using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Dcs;

namespace PgHa.Decisions;

/// <summary>
/// The decisions that differ in a standby cluster (patroni-compat.md §5.13, Patroni 3.0.2's <c>ha.py</c>): the lock
/// holder is a standby leader replicating from the remote primary of <c>standby_cluster</c>; it is never promoted; the
/// other members follow it as in any cluster. Called by <see cref="HaDecider"/> only when the section is active.
/// </summary>
internal static class StandbyClusterRules
{
    /// <summary>
    /// PostgreSQL is not running: the lock holder starts as the standby leader; with nobody holding the lock, a node
    /// follows the remote directly (the standby cluster is unhealthy, but it keeps replicating). Null: the usual rules
    /// (follow the standby leader).
    /// </summary>
    public static HaPlan? NotRunning(ClusterState cluster, HaSettings settings, bool iHoldLock)
    {
        if (iHoldLock)
            return HaPlan.Of("starting as a standby leader because I had the session lock",
                new RenewLock(cluster.Leader!, null, [new FollowRemotePrimary()], []));
        if (cluster.IsUnlocked)
            return HaPlan.Of("trying to follow a remote member because standby cluster is unhealthy", new FollowRemotePrimary());
        return null;
    }

    /// <summary>
    /// This node holds the lock: renew it, publish the standby leader's position, and keep PostgreSQL following the
    /// remote primary. A primary in a standby cluster (the section was added to a running cluster) is demoted first,
    /// keeping the lock, and comes back as the standby leader.
    /// </summary>
    public static HaPlan HoldingLock(ClusterState cluster, LocalNodeState local, HaSettings settings, string prefix)
    {
        var me = settings.MemberName;
        var pg = local.Postgres;
        var remote = settings.StandbyCluster!;
        if (pg.IsRunningPrimary)
        {
            if (settings.Pause)
                return HaPlan.NoAction($"{prefix}continue to run as primary in a standby cluster (paused)");
            return HaPlan.Of("cannot be a real primary in standby cluster; demoting, keeping the lock", new Demote(DemoteMode.ImmediateNoLock));
        }

        var ok = ImmutableArray.CreateBuilder<HaAction>();
        if (pg.SystemId is not null && cluster.Initialize is not { IsValidSystemId: true })
            ok.Add(new WriteInitialize(pg.SystemId, WriteCondition.FromRead(cluster.Initialize?.Version)));
        if (cluster.Config is null || cluster.Config.RawJson.Length == 0 || cluster.Config.RawJson == "{}")
            ok.Add(new WriteConfig());
        string reason;
        if (cluster.HasFailoverRequest)
        {
            // Only a primary hands over in PgHa; a request left in the key would otherwise outlive the standby cluster.
            ok.Add(new ClearFailover(cluster.Failover!.Version));
            reason = "a switchover is not possible in a standby cluster; request cancelled";
        }
        else if (pg.Upstream == remote.UpstreamName)
            reason = $"no action. I am ({me}), the standby leader with the lock";
        else
            reason = $"promoted self to a standby leader because I had the session lock, following {remote.Describe()}";
        if (pg.Upstream != remote.UpstreamName)
            ok.Add(new FollowRemotePrimary());
        return new HaPlan($"{prefix}{reason}", [new RenewLock(cluster.Leader!, pg.Lsn, ok.ToImmutable(), [])]);
    }
}
