using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>One slot a node should have.</summary>
/// <param name="Name">Slot name.</param>
/// <param name="Type">Physical or logical.</param>
/// <param name="Database">Logical slots: the database.</param>
/// <param name="Plugin">Logical slots: the output plugin.</param>
/// <param name="AdvanceTo">
/// Replicas: the leader's published position of this slot (<c>status.slots</c>); the local copy is moved forward to
/// it (never backwards, never past what this replica has replayed). Null: leave the position alone.
/// </param>
/// <param name="Create">False: kept when present, never created here (a permanent logical slot on a replica).</param>
public sealed record DesiredSlot(string Name, ReplicationSlotType Type, string? Database = null, string? Plugin = null, long? AdvanceTo = null, bool Create = true);

/// <summary>
/// The replication slots one node keeps this cycle, computed by <see cref="ReplicationSlots"/>: create what is missing,
/// drop what is unknown (unless <see cref="DropUnknown"/> is off or an <c>ignore_slots</c> rule matches), advance
/// replicas' copies. Compared by content, so the loop can skip a sync whose plan did not change.
/// </summary>
/// <param name="Slots">Slots to keep, sorted by name.</param>
/// <param name="DropUnknown">Drop inactive slots that are not in <see cref="Slots"/> (off in maintenance mode).</param>
/// <param name="Ignore"><c>ignore_slots</c> rules: matching slots are never dropped.</param>
/// <param name="Problems">Configuration conflicts found while planning (reported by the loop, once per change).</param>
public sealed record ReplicationSlotPlan(ImmutableArray<DesiredSlot> Slots, bool DropUnknown, ReplicationSlotsConfig Ignore, ImmutableArray<string> Problems)
{
    /// <summary>Nothing to keep, nothing to drop.</summary>
    public static ReplicationSlotPlan None { get; } = new([], false, ReplicationSlotsConfig.None, []);

    /// <summary>True when some slot is to be advanced (the sync must run even if the plan is unchanged).</summary>
    public bool HasAdvances => Slots.Any(s => s.AdvanceTo is not null);

    /// <inheritdoc />
    public bool Equals(ReplicationSlotPlan? other) =>
        other is not null && Slots.SequenceEqual(other.Slots) && DropUnknown == other.DropUnknown && Ignore.Equals(other.Ignore)
        && Problems.SequenceEqual(other.Problems);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Slots.Length, DropUnknown);
}
