using System.Globalization;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>failover</c> key.</summary>
public static class FailoverCodec
{
    /// <summary>Parses <c>{"leader":…,"member":…,"scheduled_at":…}</c>, <c>{}</c>, or the legacy <c>leader:candidate</c> form.</summary>
    public static FailoverRequest Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Failover, problems);
        var node = PatroniJson.TryParse(value, out _);
        if (node is not JsonObject obj)
        {
            // Legacy: "leader:candidate" as plain text.
            var trimmed = value.Trim();
            if (trimmed.Length > 0 && !trimmed.StartsWith('{') && !trimmed.StartsWith('['))
            {
                var parts = trimmed.Split(':', 2);
                return new FailoverRequest(Empty(parts[0]), parts.Length > 1 ? Empty(parts[1]) : null, null, version, value);
            }
            if (trimmed.Length > 0)
                read.Problem($"not a failover request: {JsonRead.Describe(node)}; ignored");
            return FailoverRequest.Cleared with { Version = version, RawJson = value };
        }
        DateTimeOffset? scheduled = null;
        if (read.String(obj, "scheduled_at") is { } at)
        {
            if (TryParseIso(at, out var parsed)) scheduled = parsed;
            else read.Problem($"field 'scheduled_at' is not an ISO-8601 time with offset: '{at}'; treated as unscheduled");
        }
        return new FailoverRequest(Empty(read.String(obj, "leader")), Empty(read.String(obj, "member")), scheduled, version, value);
    }

    /// <summary>Serializes; a cleared request is <c>{}</c>.</summary>
    public static string Serialize(FailoverRequest request)
    {
        if (request.RawJson is { } raw && Parse(raw, request.Version, []) is var old
            && old.Leader == request.Leader && old.Candidate == request.Candidate && old.ScheduledAt == request.ScheduledAt
            && PatroniJson.TryParse(raw, out _) is JsonObject rawObj)
            return PatroniJson.Serialize(rawObj);
        var obj = new JsonObject();
        if (request.Leader is not null) obj["leader"] = request.Leader;
        if (request.Candidate is not null) obj["member"] = request.Candidate;
        if (request.ScheduledAt is { } when) obj["scheduled_at"] = FormatIso(when);
        return PatroniJson.Serialize(obj);
    }

    /// <summary>Python's <c>datetime.isoformat()</c>: microseconds only when non-zero, offset as <c>+HH:MM</c>.</summary>
    public static string FormatIso(DateTimeOffset when)
    {
        var fraction = when.Ticks % TimeSpan.TicksPerSecond;
        var text = when.ToString(fraction == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        return text + when.ToString("zzz", CultureInfo.InvariantCulture);
    }

    /// <summary>Parses an ISO-8601 time that carries an offset; a time without one is rejected, as Patroni rejects it.</summary>
    public static bool TryParseIso(string text, out DateTimeOffset value)
    {
        value = default;
        var t = text.Trim();
        var hasOffset = t.EndsWith('Z') || t.EndsWith('z') || (t.Length > 6 && (t[^6] == '+' || t[^6] == '-') && t[^3] == ':')
                        || (t.Length > 5 && (t[^5] == '+' || t[^5] == '-') && char.IsAsciiDigit(t[^1]) && t.IndexOf('T', StringComparison.Ordinal) is > 0 and var ti && t.LastIndexOfAny(['+', '-']) > ti);
        return hasOffset && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
