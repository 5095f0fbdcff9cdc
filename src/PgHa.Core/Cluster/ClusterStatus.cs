using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>
/// The <c>status</c> key the leader writes on lock renewal: its last WAL position (<c>optime</c>) and the positions of
/// permanent slots. Replicas compare themselves with <see cref="Optime"/> to decide whether they may race.
/// </summary>
/// <param name="Optime">Leader's last known LSN in bytes.</param>
/// <param name="Slots">Slot name → confirmed LSN.</param>
/// <param name="RetainSlots">Slots kept for members that are temporarily absent (Patroni 4.0+).</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="RawJson">The value as read, kept for byte-exact round trips.</param>
public sealed record ClusterStatus(long? Optime, ImmutableDictionary<string, long> Slots, ImmutableArray<string> RetainSlots, DcsVersion Version, string? RawJson = null)
{
    /// <summary>A status with only an optime.</summary>
    public static ClusterStatus FromOptime(long optime) => new(optime, ImmutableDictionary<string, long>.Empty, ImmutableArray<string>.Empty, default);
}
