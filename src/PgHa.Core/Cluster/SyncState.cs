using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>
/// The <c>sync</c> key, written only by the leader with CAS: who the leader is and which standbys are synchronous.
/// In synchronous mode only these members may be promoted automatically.
/// </summary>
/// <param name="Leader">Leader that wrote the state.</param>
/// <param name="SyncStandbys">Synchronous standbys (stored sorted and comma-joined, or <c>null</c> when none).</param>
/// <param name="Quorum">Quorum size (Patroni 4.0+ quorum mode), when present.</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="RawJson">The value as read.</param>
public sealed record SyncState(string? Leader, ImmutableArray<string> SyncStandbys, int? Quorum, DcsVersion Version, string? RawJson = null)
{
    /// <summary>True when <paramref name="member"/> is the sync leader or one of its synchronous standbys.</summary>
    public bool Matches(string member) => member == Leader || SyncStandbys.Contains(member);

    /// <summary>Empty state: no leader, no standbys.</summary>
    public static SyncState Empty { get; } = new(null, ImmutableArray<string>.Empty, null, default);

    /// <inheritdoc />
    public bool Equals(SyncState? other) => other is not null && Leader == other.Leader && SyncStandbys.SequenceEqual(other.SyncStandbys) && Quorum == other.Quorum && Version == other.Version;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Leader, SyncStandbys.Length, Quorum, Version);
}
