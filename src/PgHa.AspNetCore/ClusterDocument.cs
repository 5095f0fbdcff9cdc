using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.AspNetCore;

/// <summary>The <c>GET /cluster</c> document (Patroni's <c>cluster_as_json</c>): members sorted by name, pause, scheduled switchover.</summary>
public static class ClusterDocument
{
    /// <summary>The document for <paramref name="cluster"/>.</summary>
    public static JsonObject Build(ClusterState cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var leader = cluster.LeaderName;
        var clusterLsn = cluster.LastLeaderLsn;
        var sync = cluster.Sync;
        var members = new JsonArray();
        foreach (var m in cluster.Members.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var role = m.Name == leader ? (cluster.EffectiveConfig.IsStandbyCluster ? "standby_leader" : "leader")
                : sync is not null && sync.SyncStandbys.Contains(m.Name) ? "sync_standby"
                : "replica";
            var member = new JsonObject { ["name"] = m.Name, ["role"] = role, ["state"] = m.State ?? "", ["api_url"] = m.ApiUrl };
            if (m.ConnHost is { } host)
            {
                member["host"] = host;
                if (m.ConnPort is { } port) member["port"] = port;
            }
            if (m.Timeline is { } timeline) member["timeline"] = timeline;
            if (m.PendingRestart) member["pending_restart"] = true;
            if (RawField(m, "scheduled_restart") is { } scheduled) member["scheduled_restart"] = scheduled;
            if (!m.Tags.Entries.IsDefaultOrEmpty)
            {
                var tags = new JsonObject();
                foreach (var (k, v) in m.Tags.Entries) tags[k] = PatroniJson.TryParse(v, out _);
                member["tags"] = tags;
            }
            if (m.Name != leader)
            {
                if (m.XlogLocation is not { } lsn) member["lag"] = "unknown";
                else member["lag"] = clusterLsn >= lsn ? clusterLsn - lsn : 0;
            }
            members.Add((JsonNode)member);
        }
        var doc = new JsonObject { ["members"] = members };
        if (cluster.IsPaused) doc["pause"] = true;
        if (cluster.Failover is { ScheduledAt: { } at } failover)
        {
            var scheduled = new JsonObject { ["at"] = FailoverCodec.FormatIso(at) };
            if (failover.Leader is not null) scheduled["from"] = failover.Leader;
            if (failover.Candidate is not null) scheduled["to"] = failover.Candidate;
            doc["scheduled_switchover"] = scheduled;
        }
        return doc;
    }

    private static JsonNode? RawField(Member m, string field) =>
        m.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject obj && obj[field] is { } value ? value.DeepClone() : null;
}
