namespace PgHa.Cluster;

/// <summary>
/// The <c>failover</c> key: a pending switchover (has <see cref="Leader"/>) or failover (only <see cref="Candidate"/>),
/// optionally scheduled. Patroni clears it by writing <c>{}</c>, which reads back as <see cref="IsEmpty"/>.
/// </summary>
/// <param name="Leader">The current leader that should step down (switchover).</param>
/// <param name="Candidate">The member that should take over (<c>member</c> in JSON).</param>
/// <param name="ScheduledAt">When to act; null = now.</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="RawJson">The value as read.</param>
public sealed record FailoverRequest(string? Leader, string? Candidate, DateTimeOffset? ScheduledAt, DcsVersion Version, string? RawJson = null)
{
    /// <summary>The cleared key (<c>{}</c>).</summary>
    public static FailoverRequest Cleared { get; } = new(null, null, null, default);

    /// <summary>True when no leader and no candidate is named: nothing to do.</summary>
    public bool IsEmpty => string.IsNullOrEmpty(Leader) && string.IsNullOrEmpty(Candidate);

    /// <summary>A switchover names the leader; a failover names only the candidate.</summary>
    public bool IsSwitchover => !string.IsNullOrEmpty(Leader);
}
