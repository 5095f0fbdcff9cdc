using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// Cascading replication (the <c>replicatefrom</c> tag) as a pure function: whom a member streams from, which also
/// decides which member slots each server keeps (<see cref="ReplicationSlots"/>; patroni-compat.md §5.4, §5.15).
/// Both sides apply the same rule to the same cluster view, so a cascading replica finds its slot on its upstream.
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
}
