using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// What the agent remembers for failsafe mode (patroni-compat.md §5.7): as the leader, who must confirm it while the
/// DCS is unreachable and until when the last confirmation round holds; as a replica, the leader that last confirmed
/// itself through <c>POST /failsafe</c>, whom this node promised not to race.
/// </summary>
public sealed record FailsafeMemory
{
    /// <summary>The <c>failsafe</c> key as last read (member name → api_url); empty when absent or unread.</summary>
    public ImmutableDictionary<string, string> Known { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>
    /// A map this node wrote whose outcome is unknown (the reply was lost or late): it may still land, so the leader
    /// asks its members too until a read shows the key moved past <see cref="PendingBase"/>.
    /// </summary>
    public ImmutableDictionary<string, string>? Pending { get; init; }

    /// <summary>The key's version the pending write was conditioned on (null: written create-only).</summary>
    public DcsVersion? PendingBase { get; init; }

    /// <summary>
    /// Leader: the end of the guarantee from the last successful confirmation round — the round's send time plus ttl.
    /// Null when no round confirmed this node since it last reached the DCS.
    /// </summary>
    public DateTimeOffset? ConfirmedUntil { get; init; }

    /// <summary>Replica: the last <c>POST /failsafe</c> accepted from a leader.</summary>
    public FailsafeLeader? Leader { get; init; }

    /// <summary>
    /// When this agent incarnation started. A previous incarnation may have accepted a <c>POST /failsafe</c> whose promise
    /// it cannot remember, so the node does not race for the lock within ttl of this instant while a failsafe key exists.
    /// </summary>
    public DateTimeOffset? AgentStartedAt { get; init; }

    /// <summary>Nothing remembered.</summary>
    public static FailsafeMemory Empty { get; } = new();

    /// <summary>
    /// Everyone the leader must hear from in a confirmation round: the key as read, plus a written map that may still
    /// land (a member only that map names could otherwise race while the leader does not ask it).
    /// </summary>
    public ImmutableDictionary<string, string> Topology => Pending is null ? Known : Known.SetItems(Pending.Where(p => !Known.ContainsKey(p.Key)));

    /// <summary>
    /// The promise this node gave <see cref="Leader"/> still holds at <paramref name="now"/>: from receipt until receipt
    /// plus ttl this node neither races for the lock nor promotes.
    /// </summary>
    public bool PromisedTo(DateTimeOffset now, TimeSpan ttl, out FailsafeLeader leader)
    {
        leader = Leader!;
        return Leader is { } l && now < l.ReceivedAt + ttl;
    }

    /// <summary>Failsafe mode is active for this node (Patroni's <c>failsafe_mode_is_active</c>): the leader is running on
    /// confirmations, or a replica heard from such a leader within ttl.</summary>
    public bool IsActive(DateTimeOffset now, TimeSpan ttl) =>
        (ConfirmedUntil is { } until && now < until) || (Leader is { } l && now < l.ReceivedAt + ttl);
}

/// <summary>A leader's <c>POST /failsafe</c> as a replica accepted it.</summary>
/// <param name="Name">The leader's member name.</param>
/// <param name="ConnUrl">Its PostgreSQL connection URL.</param>
/// <param name="ApiUrl">Its REST API URL.</param>
/// <param name="ReceivedAt">When this node accepted it (on this node's clock).</param>
public sealed record FailsafeLeader(string Name, string? ConnUrl, string? ApiUrl, DateTimeOffset ReceivedAt);
