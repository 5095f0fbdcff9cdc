using System.Globalization;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.AspNetCore;

/// <summary>
/// Patroni's health rules (patroni-compat.md §3.1): which status code a GET/HEAD/OPTIONS on a path answers. Pure, so
/// every rule is table-tested; the REST server only maps it.
/// </summary>
public static class HealthCheck
{
    /// <summary>
    /// The status code for <paramref name="path"/> with <paramref name="query"/> (<c>lag</c>, <c>tag_&lt;k&gt;</c>), or null
    /// when the query is invalid (then the answer is 400 with <paramref name="error"/>). The path is matched the way
    /// Patroni 3.0.2 matches it: by the words it contains, in Patroni's order.
    /// </summary>
    public static int? Evaluate(string path, IReadOnlyDictionary<string, string> query, NodeSnapshot node, DateTimeOffset now, out string? error)
    {
        error = null;
        if (!TryLag(query, out var lag, out error)) return null;
        path = path.Length <= 1 ? "/primary" : path;
        var pg = node.Postgres;
        var cluster = node.LastCycle?.Cluster;
        var replayed = pg.IsRunning && pg.Role == PostgresRole.Replica ? pg.ReplayedLsn ?? pg.Lsn : 0;
        var leaderOptime = cluster?.LastLeaderLsn ?? 0;
        var lagging = lag is { } max && leaderOptime > 0 && leaderOptime > replayed + max;
        // A standby cluster's leader runs in recovery but is no replica to balance reads onto (Patroni: role standby_leader).
        var replicaCode = !node.Settings.Tags.NoLoadBalance && !lagging && pg.IsRunning && pg.Role == PostgresRole.Replica && !node.IsStandbyLeader(now) ? 200 : 503;

        int leaderCode, primaryCode, standbyLeaderCode;
        if (cluster is null && node.IsPaused)
        {
            // The DCS is gone and nothing automatic happens: the PostgreSQL role is the best answer there is.
            leaderCode = primaryCode = pg.IsRunningPrimary ? 200 : 503;
            standbyLeaderCode = 503;
        }
        else if (node.IsLeader(now))
        {
            // In a standby cluster the lock holder leads but does not take writes: /primary answers 503 there.
            leaderCode = 200;
            var standby = node.Settings.StandbyCluster is not null;
            primaryCode = standby ? 503 : 200;
            standbyLeaderCode = standby ? 200 : 503;
        }
        else
            leaderCode = primaryCode = standbyLeaderCode = 503;

        var status = 503;
        var ignoreTags = false;
        if (path.Contains("standby_leader", StringComparison.Ordinal) || path.Contains("standby-leader", StringComparison.Ordinal))
            (status, ignoreTags) = (standbyLeaderCode, true);
        else if (path.Contains("leader", StringComparison.Ordinal))
            (status, ignoreTags) = (leaderCode, true);
        else if (path.Contains("master", StringComparison.Ordinal) || path.Contains("primary", StringComparison.Ordinal) || path.Contains("read-write", StringComparison.Ordinal))
            (status, ignoreTags) = (primaryCode, true);
        else if (path.Contains("replica", StringComparison.Ordinal))
            status = replicaCode;
        else if (path.Contains("read-only", StringComparison.Ordinal) && !path.Contains("sync", StringComparison.Ordinal))
            status = primaryCode == 200 || standbyLeaderCode == 200 ? 200 : replicaCode;
        else if (path.Contains("health", StringComparison.Ordinal))
            status = StatusDocument.State(node) == "running" ? 200 : 503;
        else if (cluster is not null)
        {
            var sync = node.IsSyncStandby;
            if (path is "/sync" or "/synchronous" && sync) status = replicaCode;
            else if (path is "/async" or "/asynchronous" && !sync) status = replicaCode;
            else if (path is "/read-only-sync" or "/read-only-synchronous")
                status = primaryCode == 200 || standbyLeaderCode == 200 ? 200 : sync ? replicaCode : 503;
        }

        if (!ignoreTags && status == 200 && !TagsMatch(query, node.Settings.Tags)) status = 503;
        return status;
    }

    /// <summary>
    /// <c>GET /liveness</c>: 200 while the HA loop keeps running — paused, or the next cycle is due less than ttl ago
    /// (2×ttl on a node that is not a running primary: replicas can be tolerated longer).
    /// </summary>
    public static int Liveness(NodeSnapshot node, DateTimeOffset now)
    {
        if (node.IsPaused) return 200;
        if (node.LastCycle is not { } last) return 200; // starting: the first cycle has not finished yet
        var threshold = node.Postgres.IsRunningPrimary ? node.Settings.Ttl : 2 * node.Settings.Ttl;
        return last.At + node.Settings.LoopWait + threshold > now ? 200 : 503;
    }

    /// <summary><c>GET /readiness</c> (Patroni 3.x): the leader, or PostgreSQL running with a DCS view from the last cycle.</summary>
    public static int Readiness(NodeSnapshot node, DateTimeOffset now)
    {
        if (node.IsLeader(now)) return 200;
        return StatusDocument.State(node) == "running" && node.LastCycle?.Cluster is not null ? 200 : 503;
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
            var actual = raw.StartsWith('"') ? JsonStringLiteral.Decode(raw) : raw.ToLowerInvariant();
            if (!string.Equals(actual, expected, StringComparison.Ordinal)) return false;
        }
        return true;
    }
}
