using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// Who may race for a free lock: Patroni's <c>is_healthiest_node</c> and <c>manual_failover_process_no_leader</c>
/// (patroni-compat.md §5.3), as pure functions of the cycle's inputs.
/// </summary>
public static class LeaderRace
{
    /// <summary>Decides whether this node should try to take the free lock.</summary>
    public static HealthVerdict IsHealthiest(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now)
    {
        var pg = local.Postgres;
        var request = cluster.HasFailoverRequest ? cluster.Failover : null;

        // Patroni's first rule: a node whose pre_promote just refused stays out of the race for ttl.
        if (local.Memory.PrePromoteFailedAt is { } refused && now - refused < settings.Ttl)
            return HealthVerdict.No($"pre_promote failed {(now - refused).TotalSeconds:0} s ago; not racing for the lock within ttl");

        if (settings.Pause && !settings.Tags.NoFailover && request is { ScheduledAt: null })
            return ManualFailoverNoLeader(cluster, local, settings, request);

        // A node that must have a watchdog and cannot use it never leads, whatever it runs as.
        if (!settings.Pause && !local.WatchdogHealthy)
            return HealthVerdict.No("the watchdog is required but cannot be used");

        if (pg.IsRunningPrimary)
        {
            if (settings.Pause)
                return cluster.Initialize is null || cluster.Initialize.SystemId == pg.SystemId
                    ? HealthVerdict.Yes("running primary in pause")
                    : HealthVerdict.No("system ID does not match the cluster");
            // A primary on an older timeline than the cluster is a stale former leader, not a candidate.
            return cluster.Timeline > 0 && pg.Timeline < cluster.Timeline
                ? HealthVerdict.No($"my timeline {pg.Timeline} is behind the cluster timeline {cluster.Timeline}")
                : HealthVerdict.Yes("I am a running primary");
        }
        if (settings.Pause) return HealthVerdict.No("paused");
        if (settings.Tags.NoFailover) return HealthVerdict.No("nofailover tag");

        // A switchover must not lose data: in synchronous mode only the synchronous nodes may take over.
        if (request is { IsSwitchover: true } && !SynchronousReplication.MayPromote(cluster, settings, settings.MemberName))
            return HealthVerdict.No("I am not a synchronous standby and a switchover is requested");
        if (request is not null)
        {
            // A switchover scheduled for later is not in force yet: the leader is gone now, so race as usual.
            if (request.ScheduledAt is { } at && now < at)
                return HealthiestAmong(cluster, local, settings, exclude: null, checkLag: true);
            return ManualFailoverNoLeader(cluster, local, settings, request);
        }
        return HealthiestAmong(cluster, local, settings, exclude: null, checkLag: true);
    }

    private static HealthVerdict ManualFailoverNoLeader(ClusterState cluster, LocalNodeState local, HaSettings settings, FailoverRequest request)
    {
        var me = settings.MemberName;
        if (request.Candidate == me)
        {
            // An explicit failover may lose data by the operator's choice; a switchover whose leader vanished may not.
            if (request.IsSwitchover && cluster.LastLeaderLsn - local.Postgres.Lsn > settings.MaximumLagOnFailover)
                return HealthVerdict.No($"I am the switchover candidate but lag behind the leader's last known position by more than maximum_lag_on_failover ({settings.MaximumLagOnFailover})");
            return HealthVerdict.Yes("I am the requested failover candidate");
        }
        if (request.Candidate is not null)
        {
            if (!SynchronousReplication.MayPromote(cluster, settings, me))
                return HealthVerdict.No($"the failover candidate is {request.Candidate} and I am not a synchronous standby");
            if (settings.Pause) return HealthVerdict.No($"paused; only the candidate {request.Candidate} may take over");
            if (!local.HasPeerStatus) return HealthVerdict.AskPeers;
            var candidate = local.Peers.FirstOrDefault(p => p.Name == request.Candidate);
            // Judge the candidate by the rule it applies to itself, or everybody waits for a node that refuses.
            if (candidate is { Reachable: true, WatchdogFailed: false } && !candidate.Tags.NoFailover
                && FailsafeRules.NamedInKey(cluster, settings, candidate.Name)
                && (!request.IsSwitchover || SynchronousReplication.MayPromote(cluster, settings, candidate.Name))
                && (!request.IsSwitchover || cluster.LastLeaderLsn - candidate.Lsn <= settings.MaximumLagOnFailover))
                return HealthVerdict.No($"the requested candidate {request.Candidate} is healthy; letting it win");
            // The candidate cannot take over: everyone races, as Patroni does.
        }
        else if (settings.Pause)
            return HealthVerdict.No("paused and no candidate given");

        if (request.Leader == me)
        {
            // The old leader steps back in only when nobody else can take over.
            if (!local.HasPeerStatus) return HealthVerdict.AskPeers;
            var other = local.Peers.Any(p => p.Reachable && p.Name != me && !p.Tags.NoFailover && !p.WatchdogFailed
                                             && FailsafeRules.NamedInKey(cluster, settings, p.Name)
                                             && SynchronousReplication.MayPromote(cluster, settings, p.Name)
                                             && cluster.LastLeaderLsn - p.Lsn <= settings.MaximumLagOnFailover);
            return other ? HealthVerdict.No("I am the old leader of a switchover and another member can take over")
                         : HealthVerdict.Yes("I am the old leader and no other member can take over");
        }
        // Only an operator-chosen candidate may skip the lag check; a switchover "to anyone" must not lose data.
        return HealthiestAmong(cluster, local, settings, exclude: request.Leader, checkLag: true);
    }

    private static HealthVerdict HealthiestAmong(ClusterState cluster, LocalNodeState local, HaSettings settings, string? exclude, bool checkLag)
    {
        var me = settings.MemberName;
        var pg = local.Postgres;
        if (checkLag && cluster.LastLeaderLsn - pg.Lsn > settings.MaximumLagOnFailover)
            return HealthVerdict.No($"my wal position {pg.Lsn} is behind the leader's last known {cluster.LastLeaderLsn} by more than maximum_lag_on_failover ({settings.MaximumLagOnFailover})");
        if (settings.CheckTimeline && cluster.Timeline > 0 && pg.Timeline < cluster.Timeline)
            return HealthVerdict.No($"my timeline {pg.Timeline} is behind the cluster timeline {cluster.Timeline}");

        // Synchronous mode: only the last leader and its synchronous standbys have every acknowledged commit.
        if (!SynchronousReplication.MayPromote(cluster, settings, me))
            return HealthVerdict.No($"I am not a synchronous standby (sync: {cluster.Sync!.Leader} + [{string.Join(',', cluster.Sync.SyncStandbys)}])");
        var syncLeader = SynchronousReplication.IsActive(cluster, settings) ? cluster.Sync!.Leader : null;

        // Race against every member seen recently; anybody we cannot ask is ignored, as Patroni ignores them.
        var candidates = local.Memory.MembersWhenLastLocked.Concat(cluster.Members.Select(m => m.Name))
            .Where(n => n != me && n != exclude && SynchronousReplication.MayPromote(cluster, settings, n)).Distinct(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0) return HealthVerdict.Yes("I am the only member");
        if (!local.HasPeerStatus) return HealthVerdict.AskPeers;

        var myPriority = settings.Tags.FailoverPriority;
        foreach (var peer in local.Peers)
        {
            if (!peer.Reachable || peer.Name == me || !candidates.Contains(peer.Name) || peer.WatchdogFailed) continue;
            if (peer.Role == MemberRole.Primary) return HealthVerdict.No($"{peer.Name} is still running as a primary");
            if (peer.Tags.NoFailover) continue;
            // The former leader may be ahead with commits no standby confirmed; it cannot race (not a running
            // primary, or it would have said so), so it does not stop a synchronous standby from taking over.
            if (peer.Lsn > pg.Lsn && peer.Name != syncLeader) return HealthVerdict.No($"{peer.Name} has a higher wal position ({peer.Lsn} > {pg.Lsn})");
            if (peer.Lsn == pg.Lsn && peer.Tags.FailoverPriority > myPriority)
                return HealthVerdict.No($"{peer.Name} has the same wal position and a higher failover_priority");
        }
        return HealthVerdict.Yes("I am the healthiest node");
    }
}
