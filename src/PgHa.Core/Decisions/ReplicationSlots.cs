using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Postgres;

namespace PgHa.Decisions;

/// <summary>
/// Which replication slots a node keeps (patroni-compat.md §5.15). Pure, so every rule is table-tested.
/// </summary>
/// <remarks>
/// <para>
/// Leader (Patroni 3.0.2's <c>get_replication_slots</c>): a physical slot per other member that streams from it
/// (<see cref="Cascading.UpstreamOf"/>: a member whose <c>replicatefrom</c> names a running member streams from that one); plus the permanent slots — all of
/// them on a primary, only physical ones on a standby leader — except a permanent physical slot named like the leader
/// itself. A permanent logical slot whose name a member slot already takes is left out and reported. Unknown slots are
/// dropped unless an <c>ignore_slots</c> rule matches (never in maintenance mode).
/// </para>
/// <para>
/// Replica: a physical slot per member cascading from it (<c>replicatefrom</c> = this node while it runs, see
/// <see cref="Cascading.UpstreamOf"/>), as in 3.0.2. A replica that may become the leader (no <c>nofailover</c>) also keeps copies of the leader's physical slots
/// whose position the leader publishes in <c>status.slots</c> — permanent physical slots and member slots, as Patroni
/// 3.2+ does — and advances them to that position, so they exist and hold WAL after a failover. Permanent logical slots
/// are kept on a replica when present but not copied there (Patroni copies their files and restarts the replica; PgHa
/// does not).
/// </para>
/// </remarks>
public static class ReplicationSlots
{
    /// <summary>The slots of the lock holder; <paramref name="standbyLeader"/> for the leader of a standby cluster.</summary>
    public static ReplicationSlotPlan ForLeader(ClusterState cluster, HaSettings settings, bool standbyLeader)
    {
        if (!settings.UseSlots) return ReplicationSlotPlan.None;
        var me = settings.MemberName;
        var slots = new SortedDictionary<string, DesiredSlot>(StringComparer.Ordinal);
        var problems = ImmutableArray.CreateBuilder<string>();
        // Members that stream from the leader (Cascading.UpstreamOf: a replicatefrom member whose PostgreSQL is not
        // running sends its member to the leader, so the leader keeps that member's slot).
        var upstream = cluster.Leader?.Holder ?? me;
        foreach (var m in cluster.Members)
        {
            if (m.Name == me || m.Name == cluster.LeaderName) continue;
            if (cluster.Leader is not null && Cascading.UpstreamOf(cluster, m.Name, m.Tags) != upstream) continue;
            AddMemberSlot(slots, problems, m.Name);
        }
        var mine = ReplicationSlotNames.ForMember(me);
        foreach (var p in settings.Slots.Permanent)
        {
            if (p.Type == ReplicationSlotType.Physical)
            {
                if (p.Name != mine) slots[p.Name] = new DesiredSlot(p.Name, ReplicationSlotType.Physical);
            }
            else if (!standbyLeader)
            {
                if (slots.ContainsKey(p.Name))
                    problems.Add($"permanent logical slot '{p.Name}' conflicts with the physical slot of a member; not created");
                else
                    slots[p.Name] = new DesiredSlot(p.Name, ReplicationSlotType.Logical, p.Database, p.Plugin);
            }
        }
        return new ReplicationSlotPlan([.. slots.Values], !settings.Pause, settings.Slots, problems.ToImmutable());
    }

    /// <summary>The slots of a replica following <paramref name="cluster"/>'s leader (or a cascade).</summary>
    public static ReplicationSlotPlan ForReplica(ClusterState cluster, HaSettings settings)
    {
        if (!settings.UseSlots) return ReplicationSlotPlan.None;
        var me = settings.MemberName;
        var slots = new SortedDictionary<string, DesiredSlot>(StringComparer.Ordinal);
        var problems = ImmutableArray.CreateBuilder<string>();
        foreach (var m in cluster.Members)
            if (m.Name != me && m.Name != cluster.LeaderName && Cascading.UpstreamOf(cluster, m.Name, m.Tags) == me)
                AddMemberSlot(slots, problems, m.Name);

        if (!settings.Tags.NoFailover)
        {
            var published = cluster.Status?.Slots ?? ImmutableDictionary<string, long>.Empty;
            var mine = ReplicationSlotNames.ForMember(me);
            var logical = settings.Slots.Permanent.Where(p => p.Type == ReplicationSlotType.Logical).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            // Copies of what the leader keeps: its permanent physical slots and the slots of the members, including the
            // leader's own (it streams from this node through it after a failover), never this node's own.
            var candidates = settings.Slots.Permanent.Where(p => p.Type == ReplicationSlotType.Physical).Select(p => p.Name)
                .Concat(cluster.Members.Select(m => ReplicationSlotNames.ForMember(m.Name)));
            foreach (var name in candidates)
            {
                if (name == mine || logical.Contains(name) || !published.TryGetValue(name, out var position)) continue;
                slots[name] = slots.TryGetValue(name, out var cascade)
                    ? cascade // consumed here by a cascading member: its own feedback moves it
                    : new DesiredSlot(name, ReplicationSlotType.Physical, AdvanceTo: position);
            }
            foreach (var p in settings.Slots.Permanent.Where(p => p.Type == ReplicationSlotType.Logical))
                if (!slots.ContainsKey(p.Name))
                    slots[p.Name] = new DesiredSlot(p.Name, ReplicationSlotType.Logical, p.Database, p.Plugin, Create: false);
        }
        return new ReplicationSlotPlan([.. slots.Values], !settings.Pause, settings.Slots, problems.ToImmutable());
    }

    /// <summary>
    /// What the leader publishes in <c>status.slots</c>: the position of every slot of its plan that exists (physical:
    /// <c>restart_lsn</c>, logical: <c>confirmed_flush_lsn</c>), and its own member slot name at its WAL position, so
    /// replicas keep a slot for it too.
    /// </summary>
    public static ImmutableDictionary<string, long> Published(ReplicationSlotPlan plan, IReadOnlyDictionary<string, long> positions, string memberName, long leaderLsn)
    {
        var b = ImmutableDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        foreach (var slot in plan.Slots)
            if (positions.TryGetValue(slot.Name, out var lsn) && lsn > 0) b[slot.Name] = lsn;
        if (plan.Slots.Length > 0 || positions.Count > 0) b[ReplicationSlotNames.ForMember(memberName)] = leaderLsn;
        return b.ToImmutable();
    }

    private static void AddMemberSlot(SortedDictionary<string, DesiredSlot> slots, ImmutableArray<string>.Builder problems, string member)
    {
        var name = ReplicationSlotNames.ForMember(member);
        if (slots.ContainsKey(name)) problems.Add($"members share the replication slot name '{name}' (one is '{member}')");
        else slots[name] = new DesiredSlot(name, ReplicationSlotType.Physical);
    }
}
