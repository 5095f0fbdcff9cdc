using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>The dynamic configuration's <c>slots</c> (permanent slots) and <c>ignore_slots</c>, compared by content.</summary>
/// <param name="Permanent">Valid permanent slots, by name.</param>
/// <param name="Ignore">Rules for slots managed outside PgHa.</param>
public sealed record ReplicationSlotsConfig(ImmutableArray<PermanentSlot> Permanent, ImmutableArray<IgnoreSlotRule> Ignore)
{
    /// <summary>No permanent slots, nothing ignored.</summary>
    public static ReplicationSlotsConfig None { get; } = new([], []);

    /// <summary>True when the existing slot matches an <c>ignore_slots</c> rule.</summary>
    public bool IsIgnored(string name, ReplicationSlotType type, string? database, string? plugin)
    {
        foreach (var rule in Ignore)
            if (rule.Matches(name, type, database, plugin)) return true;
        return false;
    }

    /// <inheritdoc />
    public bool Equals(ReplicationSlotsConfig? other) =>
        other is not null && Permanent.SequenceEqual(other.Permanent) && Ignore.SequenceEqual(other.Ignore);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Permanent.Length, Ignore.Length);
}
