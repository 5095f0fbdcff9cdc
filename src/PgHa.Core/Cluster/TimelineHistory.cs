using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>One line of the <c>history</c> key: the timeline that ended, where it ended, and why.</summary>
/// <param name="Timeline">The timeline that was left.</param>
/// <param name="SwitchLsn">LSN (bytes) at which the next timeline forked off.</param>
/// <param name="Reason">Reason text from the <c>.history</c> file.</param>
/// <param name="Timestamp">Promotion timestamp (ISO-8601), absent in old entries.</param>
/// <param name="NewLeader">Member promoted at that point, absent in old entries.</param>
public sealed record TimelineHistoryEntry(int Timeline, long SwitchLsn, string Reason, string? Timestamp = null, string? NewLeader = null);

/// <summary>The <c>history</c> key: the cluster's timeline switches, oldest first.</summary>
/// <param name="Entries">The lines.</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="RawJson">The value as read.</param>
public sealed record TimelineHistory(ImmutableArray<TimelineHistoryEntry> Entries, DcsVersion Version, string? RawJson = null)
{
    /// <summary>The cluster timeline: last switched-away timeline + 1, or 1 when there is no switch yet.</summary>
    public int CurrentTimeline => Entries.IsDefaultOrEmpty ? 1 : Entries[^1].Timeline + 1;

    /// <summary>The LSN at which <paramref name="timeline"/> ended, or null when it is the current one.</summary>
    public long? SwitchPointOf(int timeline) => Entries.IsDefaultOrEmpty ? null : Entries.Where(e => e.Timeline == timeline).Select(e => (long?)e.SwitchLsn).FirstOrDefault();

    /// <inheritdoc />
    public bool Equals(TimelineHistory? other) => other is not null && Entries.SequenceEqual(other.Entries) && Version == other.Version;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Entries.Length, Version);
}
