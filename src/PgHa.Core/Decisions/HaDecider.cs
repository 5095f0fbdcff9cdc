using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Dcs;

namespace PgHa.Decisions;

/// <summary>
/// The HA decision engine: a pure function of (cluster snapshot, local state, settings, now) returning a plan.
/// It follows Patroni's cycle (patroni-compat.md §5.2–5.7) in the same order, so each rule can be table-tested.
/// </summary>
/// <remarks>
/// No I/O, no clock, no randomness: the same inputs always give the same plan. A <c>null</c> cluster means the DCS
/// could not be read this cycle.
/// </remarks>
public static class HaDecider
{
    /// <summary>Decides what this node does this cycle.</summary>
    public static HaPlan Decide(ClusterState? cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now)
    {
        var me = settings.MemberName;
        var pg = local.Postgres;
        var paused = settings.Pause;
        var prefix = paused ? "PAUSE: " : "";

        if (cluster is null)
            return DcsUnavailable(local, settings, now, prefix);

        // A lock this node released stays given up, even if the release's outcome was unknown and the key is still
        // there: a release that arrives late would otherwise delete the lock under a primary that renewed it.
        if (cluster.Leader is { } released && released.Holder == me && local.Memory.AbandonedLock == released.Version)
        {
            if (pg.IsRunningPrimary && !paused)
                return HaPlan.Of("demoting self: I released the leader lock but PostgreSQL still runs as primary", new Demote(DemoteMode.ImmediateNoLock));
            if (local.Memory.Busy is not null)
                return HaPlan.NoAction($"{prefix}waiting for the leader lock I released to disappear");
            return HaPlan.Of($"{prefix}the leader lock I released is still in the DCS; releasing it again", new ReleaseLock());
        }

        var iHoldLock = cluster.Leader?.Holder == me;

        // A background action (bootstrap, clone, start, promote, demote) is running: keep the lock alive, nothing else.
        if (local.Memory.Busy is { } busy)
            return WhileBusy(cluster, local, settings, now, busy, iHoldLock, prefix);

        if (pg.DataDirectory != DataDirectoryState.Initialized)
            return Uninitialized(cluster, local, settings, iHoldLock, prefix);

        // Data directory present: it must belong to this cluster.
        if (cluster.Initialize is { IsValidSystemId: true } init && pg.SystemId is not null && init.SystemId != pg.SystemId)
        {
            if (iHoldLock) return HaPlan.Of($"{prefix}system ID mismatch: node {pg.SystemId}, cluster {init.SystemId}; releasing the lock", new ReleaseLock());
            return HaPlan.NoAction($"{prefix}system ID mismatch: data directory has {pg.SystemId}, cluster has {init.SystemId}; refusing to act, reinitialize this node");
        }

        if (!pg.IsRunning)
            return NotRunning(cluster, local, settings, now, iHoldLock, prefix);

        if (cluster.IsUnlocked)
            return Unlocked(cluster, local, settings, now, prefix);

        return iHoldLock ? HoldingLock(cluster, local, settings, now, prefix) : FollowingOther(cluster, local, settings, prefix);
    }

    /// <summary>
    /// True when this cycle's decision depends on peers' answers (a leader race, or a switchover to check), so the
    /// loop should gather them before calling <see cref="Decide"/>.
    /// </summary>
    public static bool NeedsPeerStatus(ClusterState? cluster, LocalNodeState local, HaSettings settings) =>
        cluster is not null && local.Memory.Busy is null && local.Postgres.DataDirectory == DataDirectoryState.Initialized
        && local.Postgres.IsRunning
        && (cluster.IsUnlocked || (cluster.Leader!.Holder == settings.MemberName && cluster.HasFailoverRequest));

    private static HaPlan DcsUnavailable(LocalNodeState local, HaSettings settings, DateTimeOffset now, string prefix)
    {
        if (!local.Postgres.IsRunningPrimary || settings.Pause)
            return HaPlan.NoAction($"{prefix}DCS is not accessible");
        // Patroni demotes at the first failed read. The write fence already guarantees the primary stops before its
        // lock can expire, so a DCS hiccup need not cost a restart: keep serving while another full retry still fits.
        // An armed watchdog fires before the lock could expire (ttl - safety_margin): step down before either.
        var guaranteed = LockStillGuaranteed(local, settings, now, out var until);
        ImmutableArray<HaAction> fallback = guaranteed ? [] : [new Demote(DemoteMode.Offline)];
        if (FailsafeRules.ConfirmationRound(local, settings, fallback) is { } round)
            return HaPlan.Of("DCS is not accessible; failsafe mode: continue to run as a leader if all members confirm it", round);
        if (guaranteed)
            return HaPlan.NoAction($"DCS is not accessible; the leader lock is still guaranteed until {FormatTime(until!.Value)}, keeping PostgreSQL running as primary and retrying");
        return HaPlan.Of("demoting self because DCS is not accessible and I was a leader", new Demote(DemoteMode.Offline));
    }

    /// <summary>Whether another full retry still fits before the lock's guarantee (or an armed watchdog) ends.</summary>
    private static bool LockStillGuaranteed(LocalNodeState local, HaSettings settings, DateTimeOffset now, out DateTimeOffset? until)
    {
        until = local.WatchdogFiresAt is { } fires && (local.Memory.LockValidUntil is null || fires < local.Memory.LockValidUntil) ? fires : local.Memory.LockValidUntil;
        return local.Memory.LockValidUntil is not null && now + settings.RetryTimeout + settings.FenceSafetyMargin < until;
    }

    private static HaPlan WhileBusy(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now, BusyAction busy, bool iHoldLock, string prefix)
    {
        var what = BusyText(busy.Kind);
        if (iHoldLock)
        {
            var onFailed = local.Postgres.IsRunningPrimary && !settings.Pause
                ? ImmutableArray.Create<HaAction>(new Demote(DemoteMode.ImmediateNoLock))
                : ImmutableArray<HaAction>.Empty;
            // A crashed primary restarted in place that does not come back in time hands over to a healthy replica.
            if (busy.Kind == BusyActionKind.Start && local.Memory.CrashRecoveryStartedAt is { } started
                && now - started > settings.PrimaryStartTimeout && !settings.Pause && AnyFailoverCandidate(cluster, settings))
                return HaPlan.Of($"{prefix}primary start has timed out after {settings.PrimaryStartTimeout.TotalSeconds:0} s, demoting to let a replica take over", new Demote(DemoteMode.Immediate));
            return HaPlan.Of($"{prefix}{what}, keeping the leader lock", new RenewLock(cluster.Leader!, null, [], onFailed));
        }
        if (local.Postgres.IsRunningPrimary && !settings.Pause && busy.Kind != BusyActionKind.Bootstrap)
            return HaPlan.Of($"{prefix}lost the leader lock while {what}; demoting", new Demote(DemoteMode.ImmediateNoLock));
        return HaPlan.NoAction($"{prefix}{what}");
    }

    private static HaPlan Uninitialized(ClusterState cluster, LocalNodeState local, HaSettings settings, bool iHoldLock, string prefix)
    {
        var me = settings.MemberName;
        if (iHoldLock)
            return HaPlan.Of($"{prefix}data directory is empty but I hold the leader lock; releasing it", new ReleaseLock());
        if (settings.Pause)
            return HaPlan.NoAction($"{prefix}data directory is empty; not bootstrapping or cloning while paused");
        if (local.Postgres.DataDirectory == DataDirectoryState.Unusable)
            return HaPlan.NoAction("data directory is not usable (no valid pg_control); reinitialize this node");

        if (cluster.IsUnlocked && cluster.Initialize is null)
        {
            if (!local.WatchdogHealthy)
                return HaPlan.NoAction("waiting for a leader to bootstrap the cluster (the watchdog is required but cannot be used)");
            if (settings.Tags.NoFailover)
                return HaPlan.NoAction("waiting for a leader to bootstrap the cluster (nofailover: I do not bootstrap)");
            if (!settings.CanBootstrap)
                return HaPlan.NoAction("waiting for a leader to bootstrap the cluster (no bootstrap configuration)");
            if (settings.StandbyCluster is { } remote)
                return HaPlan.Of($"trying to bootstrap a new standby leader as {me} from {remote.Describe()}", new RaceInitialize([new BootstrapStandbyLeader()]));
            return HaPlan.Of($"trying to bootstrap a new cluster as {me}", new RaceInitialize([new Bootstrap()]));
        }

        // Clone only from a leader whose PostgreSQL already runs: a bootstrap winner holds the lock before its server
        // is up, and a pg_basebackup against it would only fail.
        if (!cluster.IsUnlocked && cluster.LeaderMember is { } leader && leader.ConnUrl is not null && leader.State == "running")
        {
            // Prefer a running replica tagged clonefrom, as Patroni does, to spare the leader.
            var source = cluster.Members.Where(m => m.Name != me && m.Tags.CloneFrom && m.State == "running" && m.ConnUrl is not null)
                             .Select(m => m.Name).OrderBy(n => n, StringComparer.Ordinal).FirstOrDefault() ?? leader.Name;
            return HaPlan.Of($"trying to bootstrap from {(source == leader.Name ? "leader" : "replica")} '{source}'", new CreateReplica(source));
        }
        if (cluster.Initialize is { IsBootstrapInProgress: true })
            return HaPlan.NoAction("waiting for the bootstrap race winner to finish initdb");
        // An initialized cluster with nobody to clone from (every node lost its data): a replica method that restores
        // from a backup (no_leader) can still bring a node back, which may then win the race.
        if (cluster.IsUnlocked && settings.CanCreateReplicaWithoutLeader)
            return HaPlan.Of("trying to bootstrap (without leader)", new CreateReplica(null));
        return HaPlan.NoAction("waiting for a leader to bootstrap from");
    }

    private static HaPlan NotRunning(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now, bool iHoldLock, string prefix)
    {
        var pg = local.Postgres;
        if (settings.Pause)
        {
            return iHoldLock
                ? HaPlan.Of($"{prefix}PostgreSQL is not running; releasing the leader lock", new ReleaseLock())
                : HaPlan.NoAction($"{prefix}PostgreSQL is not running");
        }

        if (settings.StandbyCluster is not null && StandbyClusterRules.NotRunning(cluster, settings, iHoldLock) is { } standby)
            return standby;

        if (iHoldLock && pg.Role == PostgresRole.Primary)
        {
            if (local.Memory.PrimaryStartFailed)
                return HaPlan.Of("failed to start PostgreSQL as primary; releasing the leader lock", new ReleaseLock());
            if (!local.WatchdogHealthy)
                return HaPlan.Of("not starting the crashed primary because the watchdog is required but cannot be used; releasing the leader lock", new ReleaseLock());
            if (settings.PrimaryStartTimeout == TimeSpan.Zero && AnyFailoverCandidate(cluster, settings))
                return HaPlan.Of("crashed primary with primary_start_timeout=0: releasing the lock to fail over",
                    new ReleaseLock());
            return HaPlan.Of("starting primary after failure",
                new RenewLock(cluster.Leader!, null, [new StartPrimaryInPlace()], [new Follow(null)]));
        }
        if (iHoldLock)
            return HaPlan.Of("PostgreSQL is not running and is not a primary; releasing the leader lock", new ReleaseLock());

        var upstream = UpstreamFor(cluster, settings);
        return HaPlan.Of(upstream is null ? "starting as a secondary, no leader yet" : $"starting as a secondary following {upstream}", new Follow(upstream));
    }

    private static HaPlan Unlocked(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now, string prefix)
    {
        var pg = local.Postgres;
        if (cluster.Initialize is null && pg.IsRunningPrimary && !settings.Pause && pg.SystemId is not null && local.WatchdogHealthy)
        {
            // An existing primary adopted into a fresh DCS: take the lock and record its system id.
            return HaPlan.Of("no initialize key: adopting the running primary as the cluster",
                new AcquireLock([new WriteInitialize(pg.SystemId, WriteCondition.IfAbsent)], []));
        }

        if (settings.StandbyCluster is not null && pg.IsRunningPrimary && !settings.Pause)
            return HaPlan.Of("cannot be a real primary in a standby cluster; demoting", new Demote(DemoteMode.ImmediateNoLock));

        if (!pg.IsRunningPrimary && FailsafeRules.RaceObjection(cluster, local, settings, now) is { } objection)
        {
            if (objection.NeedsPeers) return HaPlan.AskPeers("need peer status to check the failsafe key's members");
            return HaPlan.NoAction($"{prefix}not racing for the leader lock: {objection.Why}");
        }

        var verdict = LeaderRace.IsHealthiest(cluster, local, settings, now);
        if (verdict.NeedsPeers)
            return HaPlan.AskPeers("need peer status for the leader race");

        if (verdict.Healthiest)
        {
            var onWon = ImmutableArray.CreateBuilder<HaAction>();
            if (cluster.HasFailoverRequest)
                onWon.Add(new ClearFailover(cluster.Failover!.Version));
            if (settings.StandbyCluster is not null)
            {
                // A standby cluster never promotes: the winner streams from the remote primary instead.
                onWon.Add(new FollowRemotePrimary());
                return new HaPlan($"{prefix}promoted self to a standby leader by acquiring session lock ({verdict.Why})", [new AcquireLock(onWon.ToImmutable(), [])]);
            }
            if (!pg.IsRunningPrimary)
                onWon.AddRange(SynchronousReplication.PromoteSteps(cluster, local, settings));
            // Paused: whoever wins, PostgreSQL is left as it is (Patroni's follow() only sets the role in pause).
            // A replica that loses keeps streaming from where it is; the next cycle follows the winner.
            var onLost = !settings.Pause && pg.IsRunningPrimary
                ? ImmutableArray.Create<HaAction>(new Demote(DemoteMode.ImmediateNoLock))
                : ImmutableArray<HaAction>.Empty;
            var reason = pg.IsRunningPrimary ? "acquired session lock as a leader" : "promoted self to leader by acquiring session lock";
            return new HaPlan($"{prefix}{reason} ({verdict.Why})", [new AcquireLock(onWon.ToImmutable(), onLost)]);
        }

        if (settings.Pause)
            return HaPlan.NoAction($"{prefix}continue to run as {(pg.IsRunningPrimary ? "primary" : "replica")}: not the healthiest node ({verdict.Why})");
        if (pg.IsRunningPrimary)
            return HaPlan.Of($"demoting self because I am not the healthiest node ({verdict.Why})", new Demote(DemoteMode.ImmediateNoLock));
        return HaPlan.NoAction($"waiting for a new leader: I am not the healthiest node ({verdict.Why})");
    }

    private static HaPlan HoldingLock(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now, string prefix)
    {
        var me = settings.MemberName;
        var pg = local.Postgres;
        if (settings.StandbyCluster is not null)
            return StandbyClusterRules.HoldingLock(cluster, local, settings, prefix);
        if (settings.Pause && !pg.IsRunningPrimary)
            return HaPlan.Of($"{prefix}I hold the lock but PostgreSQL is not a primary; releasing the lock", new ReleaseLock());

        // Patroni's enforce_primary_role: a required watchdog that cannot be armed ends the leadership.
        if (!settings.Pause && !local.WatchdogHealthy)
            return pg.IsRunningPrimary
                ? HaPlan.Of("demoting self because the watchdog is required but cannot be used", new Demote(DemoteMode.Immediate))
                : HaPlan.Of("not promoting self because the watchdog is required but cannot be used; releasing the lock", new ReleaseLock());

        // The lock can arrive without a race won just now (an acquire whose reply was lost, a restarted agent): the
        // lag rule still holds before promoting, unless the operator named this node in an explicit failover.
        var explicitFailoverToMe = cluster.Failover is { IsSwitchover: false } f && f.Candidate == me;
        if (!pg.IsRunningPrimary && !explicitFailoverToMe && cluster.LastLeaderLsn - pg.Lsn > settings.MaximumLagOnFailover)
            return HaPlan.Of($"I hold the lock but my wal position {pg.Lsn} is behind the leader's last known {cluster.LastLeaderLsn} by more than maximum_lag_on_failover ({settings.MaximumLagOnFailover}); releasing the lock instead of promoting",
                new ReleaseLock());

        if (!pg.IsRunningPrimary && !explicitFailoverToMe && !SynchronousReplication.MayPromote(cluster, settings, me))
            return HaPlan.Of($"{prefix}I hold the lock but I am not a synchronous standby in synchronous mode; releasing the lock instead of promoting", new ReleaseLock());

        if (!pg.IsRunningPrimary && FailsafeRules.PromotionObjection(local, settings, now) is { } promised)
            return HaPlan.Of($"{prefix}{promised}", new RenewLock(cluster.Leader!, null, [], []));

        var ok = ImmutableArray.CreateBuilder<HaAction>();
        if (pg.SystemId is not null && cluster.Initialize is not { IsValidSystemId: true })
            ok.Add(new WriteInitialize(pg.SystemId, WriteCondition.FromRead(cluster.Initialize?.Version)));
        if (cluster.Config is null || cluster.Config.RawJson.Length == 0 || cluster.Config.RawJson == "{}")
            ok.Add(new WriteConfig());

        string reason;
        if (cluster.HasFailoverRequest && pg.IsRunningPrimary)
        {
            var (switchoverActions, switchoverReason) = LeaderSideSwitchover(cluster, local, settings, now);
            if (switchoverActions is null)
                return HaPlan.AskPeers("need peer status to check switchover candidates");
            if (switchoverActions.Value.Any(a => a is Demote))
            {
                // Step down: the demotion releases the lock itself after the shutdown checkpoint.
                ok.AddRange(switchoverActions.Value);
                return new HaPlan($"{prefix}{switchoverReason}", [new RenewLock(cluster.Leader!, pg.Lsn, ok.ToImmutable(), DemoteOnFailure(local, settings))]);
            }
            ok.AddRange(switchoverActions.Value);
            reason = switchoverReason;
        }
        else if (pg.IsRunningPrimary)
            reason = $"no action. I am ({me}), the leader with the lock";
        else
            reason = "promoted self to leader because I had the session lock";

        if (!pg.IsRunningPrimary)
            ok.AddRange(SynchronousReplication.PromoteSteps(cluster, local, settings));
        else
        {
            // Timeline 1 has no history (Patroni writes none); never rewrite a newer history with an older one.
            if (pg.Timeline > 1 && pg.Timeline > cluster.Timeline)
                ok.Add(new UpdateHistory(pg.Timeline));
            ok.AddRange(SynchronousReplication.ForLeader(cluster, local, settings));
        }

        if (pg.IsRunningPrimary && FailsafeRules.MaintainKey(cluster, settings) is { } failsafeKey)
            ok.Add(failsafeKey);
        // A renewal the DCS did not answer is a DCS failure, not a lost lock: failsafe mode may keep this primary.
        var onFailed = DemoteOnFailure(local, settings);
        if (FailsafeRules.RetakeAfterOutage(local, settings, now, onFailed) is { } retake) onFailed = retake;
        // Without failsafe, a renewal the DCS did not answer is treated like a failed read (DcsUnavailable): the primary
        // keeps serving while another retry fits within the lock's guarantee, the write fence covers the rest.
        var onDcsDown = pg.IsRunningPrimary && FailsafeRules.ConfirmationRound(local, settings, DemoteOnFailure(local, settings)) is { } round
            ? ImmutableArray.Create<HaAction>(round)
            : pg.IsRunningPrimary && !settings.Pause && LockStillGuaranteed(local, settings, now, out _) ? ImmutableArray<HaAction>.Empty : default;
        return new HaPlan($"{prefix}{reason}", [new RenewLock(cluster.Leader!, pg.IsRunningPrimary ? pg.Lsn : null, ok.ToImmutable(), onFailed, onDcsDown)]);
    }

    private static ImmutableArray<HaAction> DemoteOnFailure(LocalNodeState local, HaSettings settings) =>
        local.Postgres.IsRunningPrimary && !settings.Pause
            ? [new Demote(DemoteMode.ImmediateNoLock)]
            : [];

    /// <summary>Leader side of a pending switchover/failover request. Null actions: peer status is needed first.</summary>
    private static (ImmutableArray<HaAction>? Actions, string Reason) LeaderSideSwitchover(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now)
    {
        var me = settings.MemberName;
        var request = cluster.Failover!;
        if (request.ScheduledAt is { } at)
        {
            if (now < at)
                return ([], $"no action. I am ({me}), the leader with the lock; switchover scheduled at {FormatTime(at)}");
            if (now - at > 1.5 * settings.LoopWait)
                return ([new ClearFailover(request.Version)], $"switchover scheduled at {FormatTime(at)} is overdue; cancelled");
        }
        if (request.Leader is not null && request.Leader != me)
            return ([new ClearFailover(request.Version)], $"ignoring switchover request: leader name '{request.Leader}' does not match my name '{me}'");
        if (request.Candidate == me)
            return ([new ClearFailover(request.Version)], "ignoring switchover request: I am already the leader");
        if (settings.Pause && request.Candidate is null)
            return ([new ClearFailover(request.Version)], "switchover without a candidate is not possible while paused");
        if (request.Candidate is not null && !cluster.HasMember(request.Candidate))
            return ([new ClearFailover(request.Version)], $"switchover candidate '{request.Candidate}' is not a member");
        if (!local.HasPeerStatus)
            return (null, "");
        // In synchronous mode only a synchronous standby can take over without losing acknowledged commits.
        if (request.Candidate is not null && !SynchronousReplication.MayPromote(cluster, settings, request.Candidate))
            return ([new ClearFailover(request.Version)], $"switchover candidate '{request.Candidate}' is not a synchronous standby; request cancelled");
        var possible = local.Peers.Any(p => p.Reachable && p.Name != me && (request.Candidate is null || p.Name == request.Candidate)
                                            && FailsafeRules.NamedInKey(cluster, settings, p.Name)
                                            && SynchronousReplication.MayPromote(cluster, settings, p.Name)
                                            && !p.Tags.NoFailover && !p.WatchdogFailed && p.Role != MemberRole.Primary
                                            && local.Postgres.Lsn - p.Lsn <= settings.MaximumLagOnFailover);
        if (!possible)
            return ([new ClearFailover(request.Version)], request.Candidate is null
                ? "switchover: no healthy candidate to switch over to; request cancelled"
                : $"switchover: candidate '{request.Candidate}' is not healthy; request cancelled");
        return ([new Demote(DemoteMode.Graceful)], $"manual switchover: demoting myself in favour of {request.Candidate ?? "the healthiest replica"}");
    }

    private static HaPlan FollowingOther(ClusterState cluster, LocalNodeState local, HaSettings settings, string prefix)
    {
        var leader = cluster.Leader!.Holder;
        if (local.Postgres.IsRunningPrimary && !settings.Pause)
            return HaPlan.Of(settings.StandbyCluster is null ? $"demoting self because {leader} holds the leader lock" : "cannot be a real primary in a standby cluster; demoting",
                new Demote(DemoteMode.ImmediateNoLock));
        var upstream = UpstreamFor(cluster, settings);
        if (local.Postgres.IsRunningPrimary)
            return HaPlan.NoAction($"{prefix}continue to run as primary while {leader} holds the lock (paused)");
        if (local.Postgres.Upstream == upstream)
            return HaPlan.NoAction($"{prefix}no action. I am ({settings.MemberName}), a secondary, and following a {(settings.StandbyCluster is null ? "" : "standby ")}leader ({leader})");
        return HaPlan.Of($"{prefix}following new leader {upstream}", new Follow(upstream));
    }

    // Cascade from the replicatefrom member while it is running; otherwise stream from the leader.
    private static string? UpstreamFor(ClusterState cluster, HaSettings settings) =>
        Cascading.UpstreamOf(cluster, settings.MemberName, settings.Tags);

    private static bool AnyFailoverCandidate(ClusterState cluster, HaSettings settings) =>
        cluster.Members.Any(m => m.Name != settings.MemberName && !m.Tags.NoFailover && m.State == "running" && m.ApiUrl is not null
                                 && SynchronousReplication.MayPromote(cluster, settings, m.Name)
                                 && (m.XlogLocation is null || cluster.LastLeaderLsn - m.XlogLocation.Value <= settings.MaximumLagOnFailover));

    private static string BusyText(BusyActionKind kind) => kind switch
    {
        BusyActionKind.Bootstrap => "bootstrap in progress",
        BusyActionKind.CreateReplica => "replica creation in progress",
        BusyActionKind.Start => "PostgreSQL is starting",
        BusyActionKind.Promote => "promotion in progress",
        BusyActionKind.Demote => "demotion in progress",
        BusyActionKind.Rewind => "rewind in progress",
        _ => "busy",
    };

    private static string FormatTime(DateTimeOffset t) => t.ToString("u", System.Globalization.CultureInfo.InvariantCulture);
}
