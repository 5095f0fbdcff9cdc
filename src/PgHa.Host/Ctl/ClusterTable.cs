using System.Text;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Host.Ctl;

/// <summary>
/// <c>pgha ctl list</c> and <c>topology</c>: the cluster as patronictl 3.0.2 prints it (same columns, alignment,
/// borders, formats and service lines), built from one DCS read — no member is contacted.
/// </summary>
public static class ClusterTable
{
    private static readonly HashSet<string> RightAligned = new(StringComparer.Ordinal) { "Group", "Lag in MB", "TL" };

    /// <summary>The pretty table of <paramref name="cluster"/> named <paramref name="scope"/>, without the service lines.</summary>
    public static string Render(string scope, ClusterState cluster) => Format(scope, cluster, extended: false, OutputFormat.Pretty, serviceInfo: false);

    /// <summary>
    /// patronictl's <c>output_members</c>: the member table in <paramref name="format"/>, followed in the table formats
    /// by the maintenance-mode and scheduled-switchover lines.
    /// </summary>
    public static string Format(string scope, ClusterState cluster, bool extended, OutputFormat format, bool serviceInfo = true)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var members = Members(cluster);
        var withHost = members.Where(m => m.Host is not null).ToList();
        var columns = new List<string> { "Cluster", "Member", "Host", "Role", "State", "TL", "Lag in MB" };
        if (extended || withHost.Any(m => m.PendingRestart)) columns.Add("Pending restart");
        if (extended || withHost.Any(m => m.ScheduledRestart is not null)) columns.Add("Scheduled restart");
        if (extended || withHost.Any(m => m.Tags is { Count: > 0 })) columns.Add("Tags");
        // Host shows the port when someone runs on a non-standard port or two members share a host.
        var appendPort = withHost.Any(m => m.Port is { } p && p != 5432) || withHost.Select(m => m.Host).Distinct(StringComparer.Ordinal).Count() < withHost.Count;

        var ordered = format == OutputFormat.Topology ? TopologySort(members) : members.Select(m => (m, m.Name));
        var rows = new List<JsonNode?[]>();
        foreach (var (m, displayName) in ordered)
        {
            var host = m.Host ?? "";
            if (appendPort && host.Length > 0 && m.Port is { } port) host += ":" + TableOutput.Inv(port);
            var cells = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
            {
                ["Cluster"] = TableOutput.Text(scope),
                ["Member"] = TableOutput.Text(displayName),
                ["Host"] = TableOutput.Text(host),
                ["Role"] = TableOutput.Text(m.Role),
                ["State"] = TableOutput.Text(m.State),
                ["TL"] = m.Timeline?.DeepClone() ?? TableOutput.Text(""),
                ["Lag in MB"] = m.Lag switch
                {
                    null => TableOutput.Text(""),
                    { } lag when lag < 0 => TableOutput.Text("unknown"),
                    { } lag => TableOutput.Int((long)Math.Round(lag / 1048576.0, MidpointRounding.ToEven)),
                },
                ["Pending restart"] = TableOutput.Text(m.PendingRestart ? "*" : ""),
                ["Scheduled restart"] = TableOutput.Text(m.ScheduledRestart ?? ""),
                ["Tags"] = m.Tags is { Count: > 0 } t ? t.DeepClone() : TableOutput.Text(""),
            };
            rows.Add(columns.Select(c => cells[c]).ToArray());
        }

        var text = TableOutput.Format(columns, rows, RightAligned, format, $" Cluster: {scope} ");
        if (!serviceInfo || format is not (OutputFormat.Pretty or OutputFormat.Topology)) return text;
        var sb = new StringBuilder(text);
        var info = new List<string>();
        if (cluster.IsPaused) info.Add("Maintenance mode: on");
        if (cluster.Failover is { ScheduledAt: { } at } failover)
        {
            var line = "Switchover scheduled at: " + FailoverCodec.FormatIso(at);
            if (!string.IsNullOrEmpty(failover.Leader)) line += "\n" + "from".PadLeft(24) + ": " + failover.Leader;
            if (!string.IsNullOrEmpty(failover.Candidate)) line += "\n" + "to".PadLeft(24) + ": " + failover.Candidate;
            info.Add(line);
        }
        if (info.Count > 0) sb.Append(' ').Append(string.Join("\n ", info)).Append('\n');
        return sb.ToString();
    }

    /// <summary>One member as patronictl's <c>cluster_as_json</c> describes it. <see cref="Lag"/>: null for the leader, negative when unknown.</summary>
    private sealed record MemberView(string Name, string Role, bool IsLeaderRole, string State, string? Host, int? Port, JsonNode? Timeline,
        long? Lag, bool PendingRestart, string? ScheduledRestart, JsonObject? Tags, string? ReplicateFrom);

    private static List<MemberView> Members(ClusterState cluster)
    {
        var leader = cluster.LeaderName;
        var clusterLsn = cluster.Status?.Optime ?? 0;
        var standbyCluster = cluster.Config is { } config && PatroniJson.TryParse(config.RawJson, out _) is JsonObject c
            && c["standby_cluster"] is JsonObject sc && (sc["host"] is not null || sc["port"] is not null || sc["restore_command"] is not null);
        var views = new List<MemberView>();
        foreach (var m in cluster.Members.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var data = m.RawJson is { } raw ? PatroniJson.TryParse(raw, out _) as JsonObject : null;
            string role;
            if (m.Name == leader) role = standbyCluster ? "standby_leader" : "leader";
            else if (cluster.Sync is { Leader: not null } sync && sync.SyncStandbys.Contains(m.Name)) role = "sync_standby";
            else role = "replica";
            var title = string.Join(' ', role.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            string? scheduled = null;
            if (data?["scheduled_restart"] is JsonObject sr)
            {
                scheduled = TableOutput.Str(sr["schedule"]);
                if (sr.ContainsKey("postgres_version")) scheduled += " if version < " + TableOutput.Str(sr["postgres_version"]);
            }
            JsonObject? tags = data?["tags"] as JsonObject;
            if (tags is null && !m.Tags.Entries.IsDefaultOrEmpty)
            {
                tags = [];
                foreach (var (k, v) in m.Tags.Entries) tags[k] = PatroniJson.TryParse(v, out _);
            }
            long? lag = null;
            if (m.Name != leader) lag = m.XlogLocation is { } lsn ? Math.Max(0, clusterLsn - lsn) : -1;
            var timeline = data is not null ? (data.TryGetPropertyValue("timeline", out var tl) ? tl : null) : (m.Timeline is { } t ? JsonValue.Create(t) : null);
            var pending = data is not null ? data["pending_restart"] is { } p && MemberTags.IsTruthy(p.ToJsonString()) : m.PendingRestart;
            views.Add(new MemberView(m.Name, title, role.EndsWith("leader", StringComparison.Ordinal), data?["state"] is { } s ? TableOutput.Str(s) : m.State ?? "",
                m.ConnHost, m.ConnHost is null ? null : m.ConnPort, timeline, lag, pending, scheduled, tags, m.Tags.ReplicateFrom));
        }
        return views;
    }

    // patronictl's topology_sort: the leader first, each replica below the member it replicates from (replicatefrom),
    // indented two spaces per level and marked "+ ".
    private static IEnumerable<(MemberView Member, string Name)> TopologySort(List<MemberView> members)
    {
        var leader = members.FirstOrDefault(m => m.IsLeaderRole);
        var replicas = members.Where(m => !m.IsLeaderRole).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var children = new Dictionary<string, List<MemberView>>(StringComparer.Ordinal);
        const string NoLeader = "\0";
        foreach (var m in members.Where(m => !m.IsLeaderRole))
        {
            var parent = m.ReplicateFrom is { Length: > 0 } from && from != m.Name && replicas.Contains(from) ? from : leader?.Name ?? NoLeader;
            if (!children.TryGetValue(parent, out var list)) children[parent] = list = [];
            list.Add(m);
        }
        var result = new List<(MemberView, string)>();
        void Walk(string key, int level)
        {
            if (!children.TryGetValue(key, out var list)) return;
            foreach (var m in list)
            {
                result.Add((m, new string(' ', (level - 1) * 2) + "+ " + m.Name));
                Walk(m.Name, level + 1);
            }
        }
        if (leader is not null) result.Add((leader, leader.Name));
        Walk(leader?.Name ?? NoLeader, 1);
        return result;
    }
}
