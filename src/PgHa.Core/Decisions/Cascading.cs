using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// Cascading replication (the <c>replicatefrom</c> tag) as pure functions: whom a member streams from, and therefore
/// which physical slots each server keeps (patroni-compat.md §5.4, §5.15). Both sides apply the same rule to the same
/// cluster view, so a cascading replica finds its slot on the member it streams from.
/// </summary>
public static class Cascading
{
    /// <summary>
    /// The member <paramref name="member"/> (tagged <paramref name="tags"/>) streams from: its <c>replicatefrom</c>
    /// member while that one is a member whose PostgreSQL runs (its key expires with its agent, and says so when its
    /// PostgreSQL stops), otherwise the leader. Null when there is no leader, or the leader is the member itself.
    /// </summary>
    public static string? UpstreamOf(ClusterState cluster, string member, MemberTags tags)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(tags);
        if (cluster.Leader is null) return null;
        if (tags.ReplicateFrom is { Length: > 0 } from && from != member && cluster.GetMember(from) is { State: "running" })
            return from;
        return cluster.Leader.Holder == member ? null : cluster.Leader.Holder;
    }

    /// <summary>
    /// The physical slots <paramref name="me"/> keeps for the members that stream from it: on the primary (the lock
    /// holder) every member whose upstream is the leader; on a replica the members cascading from it (never the
    /// leader). Patroni names each slot after its member (<see cref="Postgres.ReplicationSlotNames.ForMember"/>).
    /// </summary>
    public static ImmutableArray<string> SlotsToKeep(ClusterState cluster, string me, bool isPrimary)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var leader = cluster.Leader?.Holder;
        // A primary keeps its members' slots even while the lock is missing for a moment: dropping them would lose WAL.
        var upstream = isPrimary ? leader ?? me : me;
        return cluster.Members
            .Where(m => m.Name != me && m.Name != leader)
            .Where(m => (isPrimary && leader is null) || UpstreamOf(cluster, m.Name, m.Tags) == upstream)
            .Select(m => Postgres.ReplicationSlotNames.ForMember(m.Name))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToImmutableArray();
    }
}
