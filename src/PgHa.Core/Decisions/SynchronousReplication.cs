using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// Synchronous mode's rules (patroni-compat.md §5.8) as pure functions: which standbys the leader makes synchronous,
/// in which order it changes the <c>sync</c> key and <c>synchronous_standby_names</c>, and who may be promoted.
/// </summary>
/// <remarks>
/// The invariant every rule keeps: a member named in the <c>sync</c> key has every commit the leader acknowledged.
/// Hence a standby leaves the key <em>before</em> it leaves <c>synchronous_standby_names</c>, and enters the key only
/// <em>after</em> PostgreSQL counts it synchronous and it has flushed past the primary's position at the time it was
/// named (<see cref="SynchronousStandbyBaseline"/>). With no standby in the key only the leader itself may be promoted,
/// so commits acknowledged without a standby are never lost to a failover either.
/// </remarks>
public static class SynchronousReplication
{
    /// <summary>True when synchronous mode is on and a leader has published the <c>sync</c> key: promotion is restricted.</summary>
    public static bool IsActive(ClusterState cluster, HaSettings settings) =>
        settings.SynchronousMode && cluster.Sync is { Leader: not null };

    /// <summary>True when <paramref name="member"/> may be promoted automatically (always, unless synchronous mode is active).</summary>
    public static bool MayPromote(ClusterState cluster, HaSettings settings, string member) =>
        !IsActive(cluster, settings) || cluster.Sync!.Matches(member);

    /// <summary>
    /// The steps of a promotion. In synchronous mode the node first claims the <c>sync</c> key with no standbys (CAS:
    /// if it changed, someone else acted and the promotion waits a cycle), and sets <c>synchronous_standby_names</c> to
    /// nobody (strict: <c>*</c>) before it accepts writes; it picks real standbys once they stream from it.
    /// </summary>
    public static ImmutableArray<HaAction> PromoteSteps(ClusterState cluster, LocalNodeState local, HaSettings settings)
    {
        if (!settings.SynchronousMode)
        {
            // A value left from an earlier synchronous life would block every commit of the new primary.
            return local.Postgres.ManagedSynchronousStandbyNames is not null
                ? [new SetSynchronousStandbyNames(null), new Promote()]
                : [new Promote()];
        }
        var initial = settings.SynchronousModeStrict ? SynchronousStandbyNames.AnyStandby : "";
        return [new WriteSyncState(settings.MemberName, [], cluster.Sync?.Version, [new SetSynchronousStandbyNames(initial), new Promote()])];
    }

    /// <summary>
    /// What the leader (a running primary whose lock was just renewed) does about synchronous replication this cycle:
    /// at most one <c>sync</c> key write, each later step only if that write succeeded.
    /// </summary>
    public static ImmutableArray<HaAction> ForLeader(ClusterState cluster, LocalNodeState local, HaSettings settings)
    {
        var me = settings.MemberName;
        var pg = local.Postgres;
        var key = cluster.Sync;
        if (!settings.SynchronousMode)
        {
            // Switched off: drop the key first, so no standby stays promotable on a promise PostgreSQL no longer keeps.
            var release = pg.ManagedSynchronousStandbyNames is not null
                ? ImmutableArray.Create<HaAction>(new SetSynchronousStandbyNames(null))
                : ImmutableArray<HaAction>.Empty;
            if (key is { Leader: not null }) return [new DeleteSyncState(key.Version, release)];
            return release;
        }

        var ownKey = key is { } k && k.Leader == me;
        var current = ownKey ? key!.SyncStandbys : ImmutableArray<string>.Empty;
        var running = pg.SynchronousStandbyNames ?? "";
        var named = SynchronousStandbyNames.Members(running);
        var picked = Pick(cluster, pg, settings);
        var baseline = local.Memory.SyncBaseline is { } b && b.Value == running ? b.FlushLsn : (long?)null;
        var confirmed = picked.Where(name =>
            pg.Replication.FirstOrDefault(r => r.ApplicationName == name) is { IsSync: true } row
            && named.Contains(name)
            && (current.Contains(name) || (baseline is { } lsn && row.FlushLsn >= lsn))).ToImmutableArray();
        var common = current.Where(confirmed.Contains).ToImmutableArray();

        var wanted = picked.Length > 0 ? SynchronousStandbyNames.Render(picked)
            : settings.SynchronousModeStrict ? SynchronousStandbyNames.AnyStandby : "";
        // Set when the value differs, or again to take a fresh baseline when none matches it (an agent restart
        // forgets it) and a named standby still waits to be confirmed.
        var setNames = running != wanted || pg.ManagedSynchronousStandbyNames != running
                       || (baseline is null && confirmed.Length < picked.Length)
            ? ImmutableArray.Create<HaAction>(new SetSynchronousStandbyNames(wanted))
            : ImmutableArray<HaAction>.Empty;

        // Shrink the key to the standbys that stay confirmed before PostgreSQL stops waiting for the others.
        if (!ownKey || !SameSet(common, current))
            return [new WriteSyncState(me, common, key?.Version, setNames)];
        if (!setNames.IsEmpty) return setNames;
        // PostgreSQL waits for the new standbys and they caught up: now they may be promoted.
        if (!SameSet(confirmed, current))
            return [new WriteSyncState(me, confirmed, key!.Version, [])];
        return [];
    }

    /// <summary>
    /// Standbys to make synchronous, best first, at most <c>synchronous_node_count</c>: members that run, are not tagged
    /// <c>nosync</c> and stream from this primary under their own name; those PostgreSQL already counts synchronous,
    /// then the most advanced, then those that may fail over. With <c>maximum_lag_on_syncnode</c> &gt; 0, a standby whose
    /// flush position is further behind than that is left out: behind the most advanced standby, or behind the primary
    /// when there is only one (Patroni's reference point), so a hung synchronous standby is swapped for a healthy one.
    /// </summary>
    public static ImmutableArray<string> Pick(ClusterState cluster, PostgresStatus pg, HaSettings settings)
    {
        var count = Math.Max(1, settings.SynchronousNodeCount);
        var eligible = pg.Replication
            .Where(r => r.State == "streaming" && r.FlushLsn is not null && r.ApplicationName != settings.MemberName)
            .Select(r => (Row: r, Member: cluster.GetMember(r.ApplicationName)))
            .Where(x => x.Member is { State: "running" } m && !m.Tags.NoSync)
            .ToList();
        var reference = eligible.Count > 1 ? eligible.Max(x => x.Row.FlushLsn!.Value) : pg.Lsn;
        return eligible
            .Where(x => settings.MaximumLagOnSyncnode <= 0 || reference - x.Row.FlushLsn!.Value <= settings.MaximumLagOnSyncnode)
            .OrderBy(x => x.Member!.Tags.NoFailover)
            .ThenByDescending(x => x.Row.SyncState, StringComparer.Ordinal)
            .ThenByDescending(x => x.Row.FlushLsn)
            .ThenBy(x => x.Row.ApplicationName, StringComparer.Ordinal)
            .Select(x => x.Row.ApplicationName)
            .Distinct(StringComparer.Ordinal)
            .Take(count)
            .ToImmutableArray();
    }

    /// <summary>
    /// True when <paramref name="member"/> is a synchronous standby of the current leader: the <c>sync</c> key was
    /// written by the lock holder and lists it (Patroni's <c>is_sync_standby</c>).
    /// </summary>
    public static bool IsSynchronousStandby(ClusterState cluster, string member)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.Leader is { } leader && cluster.Sync is { Leader: { } syncLeader } sync && syncLeader == leader.Holder
               && !sync.SyncStandbys.IsDefault && sync.SyncStandbys.Contains(member, StringComparer.Ordinal);
    }

    /// <summary>
    /// The tags a replica publishes while it steps out of synchronous standby before stopping: its own with
    /// <c>nosync: true</c>, so the leader picks another standby first.
    /// </summary>
    public static MemberTags LeavingTags(MemberTags tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        if (tags.NoSync) return tags;
        return new MemberTags([.. tags.Entries.Where(e => e.Key != "nosync"), KeyValuePair.Create("nosync", "true")]);
    }

    private static bool SameSet(ImmutableArray<string> a, ImmutableArray<string> b) =>
        a.Length == b.Length && a.All(b.Contains);
}
