using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;

namespace PgHa.Loop;

public sealed partial class HaLoop
{
    private ImmutableDictionary<string, long> _publishedSlots = ImmutableDictionary<string, long>.Empty;

    // The problems the last planned sync reported: a problem is logged when it first appears (or reappears after a
    // sync without it), not on every cycle an unsettled plan is synced again.
    private ImmutableHashSet<string> _reportedSlotProblems = ImmutableHashSet<string>.Empty;

    /// <summary>
    /// The lock holder's slots (a running primary, or a standby cluster's leader): member and permanent slots per
    /// <see cref="ReplicationSlots.ForLeader"/>. Returns what to publish in <c>status.slots</c>, or null when the sync was
    /// skipped (the plan did not change and has no permanent slots whose positions move) or failed.
    /// </summary>
    private async Task<ImmutableDictionary<string, long>?> SyncLeaderSlotsAsync(ClusterState cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        var standbyLeader = settings.StandbyCluster is not null && pg is { IsRunning: true, Role: PostgresRole.Replica };
        if (!pg.IsRunningPrimary && !standbyLeader) return null;
        var plan = ReplicationSlots.ForLeader(cluster, settings, standbyLeader);
        // Member slots alone only change with the member set; permanent slots' positions are published every cycle.
        if (_syncedSlots is { } done && done.Equals(plan) && settings.Slots.Permanent.IsDefaultOrEmpty) return null;
        var positions = await SyncSlotsAsync(plan, ct).ConfigureAwait(false);
        return positions is null ? null : ReplicationSlots.Published(plan, positions, _options.Identity.Name, pg.Lsn);
    }

    /// <summary>
    /// A running replica's slots (<see cref="ReplicationSlots.ForReplica"/>): slots of members cascading from it, and
    /// copies of the leader's slots advanced to the positions the leader published.
    /// </summary>
    private async Task SyncReplicaSlotsAsync(ClusterState cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        if (cluster.Leader is null || cluster.Leader.Holder == _options.Identity.Name || Memory.Busy is not null) return;
        if (pg is not { IsRunning: true, Role: PostgresRole.Replica }) return;
        var plan = ReplicationSlots.ForReplica(cluster, settings);
        if (_syncedSlots is { } done && done.Equals(plan) && !plan.HasAdvances) return;
        await SyncSlotsAsync(plan, ct).ConfigureAwait(false);
    }

    private async Task<IReadOnlyDictionary<string, long>?> SyncSlotsAsync(ReplicationSlotPlan plan, CancellationToken ct)
    {
        try
        {
            var positions = await WithDeadline(c => _pg.SyncReplicationSlotsAsync(plan, c), ct).ConfigureAwait(false);
            foreach (var problem in plan.Problems)
                if (!_reportedSlotProblems.Contains(problem)) SlotsLog.SlotPlanProblem(_logger, problem);
            _reportedSlotProblems = [.. plan.Problems];
            // Only a plan PostgreSQL now matches is remembered as done: a slot that was still active could not be
            // dropped (a member that just moved to cascade from another one), and a failed creation must be retried.
            _syncedSlots = Settled(plan, positions) ? plan : null;
            return positions;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Retried next cycle; replicas keep streaming meanwhile, only WAL retention is at stake.
            Log.ActionFailed(_logger, "sync replication slots", ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Whether the slots PostgreSQL has after a sync are the plan's: every slot it creates exists and, when it drops
    /// unknown slots, no other slot is left (with <c>ignore_slots</c> rules the leftovers may be protected ones, so the
    /// plan counts as settled and the next member change re-checks).
    /// </summary>
    private static bool Settled(ReplicationSlotPlan plan, IReadOnlyDictionary<string, long> existing)
    {
        if (plan.Slots.Any(s => s.Create && s.Type == ReplicationSlotType.Physical && !existing.ContainsKey(s.Name))) return false;
        if (!plan.DropUnknown || !plan.Ignore.Ignore.IsDefaultOrEmpty) return true;
        var wanted = plan.Slots.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        return existing.Keys.All(wanted.Contains);
    }

    /// <summary>
    /// Writes <c>status</c> (the leader's optime, and its slots' positions) when it differs from what the DCS has. When
    /// this cycle did not look at the slots, the positions last published stay.
    /// </summary>
    private async Task PublishStatusAsync(ClusterState? cluster, long optime, ImmutableDictionary<string, long>? slots, CancellationToken ct)
    {
        if (slots is not null) _publishedSlots = slots;
        var current = cluster?.Status;
        if (current?.Optime == optime && SameSlots(current.Slots, _publishedSlots)) return;
        var status = new ClusterStatus(optime, _publishedSlots, ImmutableArray<string>.Empty, default);
        await TryDcsAsync("status", c => _dcs.TrySetStatusAsync(status, WriteCondition.Always, c), ct).ConfigureAwait(false);
    }

    private static bool SameSlots(ImmutableDictionary<string, long> a, ImmutableDictionary<string, long> b) =>
        a.Count == b.Count && a.All(s => b.TryGetValue(s.Key, out var v) && v == s.Value);
}
