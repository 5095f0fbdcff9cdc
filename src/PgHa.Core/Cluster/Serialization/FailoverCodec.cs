using System.Globalization;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>failover</c> key.</summary>
public static class FailoverCodec
{
    /// <summary>
    /// Parses <c>{"leader":…,"member":…,"scheduled_at":…}</c>, <c>{}</c>, or the legacy <c>leader:candidate</c> text.
    /// A request whose <c>scheduled_at</c> is not a time with an offset is reported and read as no request at all:
    /// Patroni 3.0.2 cannot compare such a time with "now" and discards the request instead of acting on it, and acting
    /// at once on a switchover someone meant for later would be worse than not acting.
    /// </summary>
    public static FailoverRequest Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Failover, problems);
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            if (node is null && error is not null && TryParseLegacy(value, out var legacyLeader, out var legacyCandidate))
                return new FailoverRequest(legacyLeader, legacyCandidate, null, version, value);
            if (value.Trim().Length > 0)
                read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON object")}; no request");
            return FailoverRequest.Cleared with { Version = version, RawJson = value };
        }
        var leader = Empty(read.String(obj, "leader"));
        var candidate = Empty(read.String(obj, "member"));
        DateTimeOffset? scheduled = null;
        if (obj.TryGetPropertyValue("scheduled_at", out var atNode) && atNode is not null && !IsEmptyString(atNode))
        {
            if (atNode is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String && TryParseIso(v.GetValue<string>(), out var parsed))
                scheduled = parsed;
            else
            {
                read.Problem($"field 'scheduled_at' is not an ISO-8601 time with an offset: {JsonRead.Describe(atNode)}; the request is ignored");
                return FailoverRequest.Cleared with { Version = version, RawJson = value };
            }
        }
        return new FailoverRequest(leader, candidate, scheduled, version, value);
    }

    /// <summary>
    /// Serializes as Patroni's <c>manual_failover</c> does: <c>leader</c>, <c>member</c>, <c>scheduled_at</c>, each only
    /// when set; a cleared request is <c>{}</c>. When <see cref="FailoverRequest.RawJson"/> (a JSON object or the legacy
    /// text) reads as the same request, it is returned byte for byte.
    /// </summary>
    public static string Serialize(FailoverRequest request)
    {
        if (request.RawJson is { } raw
            && (PatroniJson.TryParse(raw, out var error) is JsonObject || (error is not null && TryParseLegacy(raw, out _, out _)))
            && Parse(raw, request.Version, []) is var old
            && old.Leader == Empty(request.Leader) && old.Candidate == Empty(request.Candidate) && old.ScheduledAt == request.ScheduledAt
            && (old.ScheduledAt is null || old.ScheduledAt.Value.Offset == request.ScheduledAt!.Value.Offset))
            return raw;
        var obj = new JsonObject();
        if (Empty(request.Leader) is { } leader) obj["leader"] = leader;
        if (Empty(request.Candidate) is { } candidate) obj["member"] = candidate;
        if (request.ScheduledAt is { } when) obj["scheduled_at"] = FormatIso(when);
        return PatroniJson.Serialize(obj);
    }

    /// <summary>
    /// Python's <c>datetime.isoformat()</c>: microseconds only when non-zero, offset as <c>+HH:MM</c>. Python has no
    /// unit below the microsecond, so the 100 ns ticks below it are dropped.
    /// </summary>
    public static string FormatIso(DateTimeOffset when)
    {
        var microseconds = when.Ticks % TimeSpan.TicksPerSecond / 10;
        var text = when.ToString(microseconds == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
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

    /// <summary>
    /// Patroni's legacy text form: <c>leader:candidate</c>, split at every colon and stripped (extra parts dropped).
    /// Only text that cannot be meant as JSON qualifies: no braces, brackets or quotes.
    /// </summary>
    private static bool TryParseLegacy(string value, out string? leader, out string? candidate)
    {
        leader = candidate = null;
        if (value.AsSpan().IndexOfAny("{}[]\"") >= 0) return false;
        var parts = value.Split(':');
        leader = Empty(parts[0]);
        candidate = parts.Length > 1 ? Empty(parts[1]) : null;
        return leader is not null || candidate is not null;
    }

    private static bool IsEmptyString(JsonNode node) => node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String && v.GetValue<string>().Length == 0;

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
