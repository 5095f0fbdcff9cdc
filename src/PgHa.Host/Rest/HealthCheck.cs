using System.Globalization;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Host.Rest;

/// <summary>
/// Patroni's health rules (patroni-compat.md §3.1): which status code a GET/HEAD/OPTIONS on a path answers. Pure, so
/// every rule is table-tested; the REST server only maps it.
/// </summary>
public static class HealthCheck
{
    /// <summary>
    /// The status code for <paramref name="path"/> with <paramref name="query"/> (<c>lag</c>, <c>tag_&lt;k&gt;</c>), or null
    /// when the query is invalid (then the answer is 400 with <paramref name="error"/>).
    /// </summary>
    public static int? Evaluate(string path, IReadOnlyDictionary<string, string> query, NodeSnapshot node, DateTimeOffset now, out string? error)
    {
        error = null;
        var segment = path.Trim('/').Split('/')[0].ToLowerInvariant();
        var pg = node.Postgres;
        var running = pg.IsRunning;
        var leader = node.IsLeader(now);
        switch (segment)
        {
            case "" or "primary" or "master" or "read-write":
                return leader ? 200 : 503;
            case "leader":
                return leader ? 200 : 503;
            case "standby-leader" or "standby_leader":
                return 503; // standby clusters arrive with issue #7
            case "health":
                return running ? 200 : 503;
            case "replica" or "read-only":
                if (segment == "read-only" && leader) return 200;
                if (!TryLag(query, out var lag, out error)) return null;
                if (!running || pg.Role != PostgresRole.Replica || leader || node.Settings.Tags.NoLoadBalance) return 503;
                if (!TagsMatch(query, node.Settings.Tags)) return 503;
                if (lag is { } maxLag && node.LastCycle?.Cluster is { } cluster && cluster.LastLeaderLsn - (pg.ReplayedLsn ?? pg.Lsn) > maxLag) return 503;
                return 200;
            default:
                if (segment.Contains("primary", StringComparison.Ordinal) || segment.Contains("master", StringComparison.Ordinal) || segment.Contains("read-write", StringComparison.Ordinal))
                    return leader ? 200 : 503;
                // Patroni answers any other path with the generic health rule.
                return running ? 200 : 503;
        }
    }

    private static bool TryLag(IReadOnlyDictionary<string, string> query, out long? lag, out string? error)
    {
        lag = null;
        error = null;
        if (!query.TryGetValue("lag", out var text)) return true;
        if (TryParseSize(text, out var bytes)) { lag = bytes; return true; }
        error = $"lag: '{text}' is not a size (bytes, or a number with kB, MB, GB or TB)";
        return false;
    }

    /// <summary>Parses Patroni's lag sizes: plain bytes or <c>16kB</c>, <c>64MB</c>, <c>1GB</c>, <c>1TB</c> (powers of 1024).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var t = text.Trim();
        var units = new (string Suffix, long Factor)[] { ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("kB", 1L << 10), ("B", 1) };
        var factor = 1L;
        foreach (var (suffix, f) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                t = t[..^suffix.Length].Trim();
                break;
            }
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / factor) return false;
        bytes = n * factor;
        return true;
    }

    private static bool TagsMatch(IReadOnlyDictionary<string, string> query, MemberTags tags)
    {
        foreach (var (key, expected) in query)
        {
            if (!key.StartsWith("tag_", StringComparison.Ordinal)) continue;
            var raw = tags[key[4..]];
            if (raw is null) return false;
            // Non-string tags compare as their lowercase text, as Patroni does.
            var actual = raw.StartsWith('"') ? PgHa.Cluster.JsonStringLiteral.Decode(raw) : raw.ToLowerInvariant();
            if (!string.Equals(actual, expected, StringComparison.Ordinal)) return false;
        }
        return true;
    }
}
