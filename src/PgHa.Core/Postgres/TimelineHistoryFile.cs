using System.Globalization;
using PgHa.Cluster;

namespace PgHa.Postgres;

/// <summary>PostgreSQL's <c>pg_wal/&lt;timeline&gt;.history</c> file: one <c>parentTLI\tswitchpoint\treason</c> line per switch.</summary>
internal static class TimelineHistoryFile
{
    /// <summary>The file name of a timeline's history: eight upper-case hex digits + <c>.history</c>.</summary>
    public static string FileName(int timeline) => timeline.ToString("X8", CultureInfo.InvariantCulture) + ".history";

    /// <summary>Parses the file's text, oldest line first; comments, blank and malformed lines are skipped.</summary>
    public static IReadOnlyList<TimelineHistoryEntry> Parse(string content)
    {
        var entries = new List<TimelineHistoryEntry>();
        foreach (var raw in content.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split('\t', 3);
            if (parts.Length < 2) parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) continue;
            if (!int.TryParse(parts[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var tli)) continue;
            if (!Lsn.TryParse(parts[1].Trim(), out var lsn)) continue;
            entries.Add(new TimelineHistoryEntry(tli, lsn, parts.Length > 2 ? parts[2].Trim() : ""));
        }
        return entries;
    }
}
