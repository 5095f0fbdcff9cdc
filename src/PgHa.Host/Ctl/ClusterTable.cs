using System.Globalization;
using System.Text;
using PgHa.Cluster;

namespace PgHa.Host.Ctl;

/// <summary>
/// <c>pgha ctl list</c>: the cluster as patronictl 3.0.2 prints it (same columns, alignment and borders), built from
/// one DCS read — no member is contacted.
/// </summary>
public static class ClusterTable
{
    private static readonly string[] Header = ["Member", "Host", "Role", "State", "TL", "Lag in MB"];

    /// <summary>Renders <paramref name="cluster"/> named <paramref name="scope"/>.</summary>
    public static string Render(string scope, ClusterState cluster)
    {
        var leaderLsn = cluster.LeaderMember?.XlogLocation ?? cluster.Status?.Optime;
        var rows = cluster.Members.Select(m => new[]
        {
            m.Name,
            m.ConnHost is { } h ? $"{h}:{m.ConnPort}" : "",
            Role(cluster, m),
            m.State ?? "",
            m.Timeline?.ToString(CultureInfo.InvariantCulture) ?? "",
            cluster.Leader?.Holder == m.Name ? "" : Lag(leaderLsn, m.XlogLocation),
        }).ToList();

        var widths = Header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var border = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+";
        var title = $"+ Cluster: {scope} ";
        var sb = new StringBuilder();
        sb.Append(title.Length < border.Length ? title + border[title.Length..] : title).Append('\n');
        sb.Append(Line(Header, widths)).Append('\n');
        sb.Append(border).Append('\n');
        foreach (var row in rows) sb.Append(Line(row, widths)).Append('\n');
        sb.Append(border).Append('\n');
        return sb.ToString();
    }

    private static string Role(ClusterState cluster, Member m)
    {
        if (cluster.Leader?.Holder == m.Name) return m.Role == MemberRole.StandbyLeader ? "Standby Leader" : "Leader";
        if (cluster.IsSynchronousModeActive && cluster.Sync!.SyncStandbys.Contains(m.Name)) return "Sync Standby";
        return m.Role switch
        {
            MemberRole.Primary => "Leader",
            MemberRole.Uninitialized => "Uninitialized",
            _ => "Replica",
        };
    }

    private static string Lag(long? leaderLsn, long? memberLsn)
    {
        if (memberLsn is null || leaderLsn is null) return "unknown";
        var lag = Math.Max(0, leaderLsn.Value - memberLsn.Value);
        return Math.Round(lag / 1048576.0, MidpointRounding.ToEven).ToString("0", CultureInfo.InvariantCulture);
    }

    private static string Line(string[] cells, int[] widths)
    {
        var sb = new StringBuilder("|");
        for (var i = 0; i < cells.Length; i++)
        {
            // Numbers right-aligned, text left-aligned, as prettytable does for patronictl.
            var numeric = i >= 4;
            sb.Append(' ').Append(numeric ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i])).Append(" |");
        }
        return sb.ToString();
    }
}
