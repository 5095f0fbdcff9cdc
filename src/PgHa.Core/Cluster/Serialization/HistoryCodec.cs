using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>history</c> key: an array of <c>[timeline, lsn, reason, timestamp?, leader?]</c>.</summary>
public static class HistoryCodec
{
    /// <summary>Parses the history; malformed lines are reported and skipped.</summary>
    public static TimelineHistory Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.History, problems);
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonArray arr)
        {
            read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON array")}; ignored");
            return new TimelineHistory(ImmutableArray<TimelineHistoryEntry>.Empty, version, value);
        }
        var entries = ImmutableArray.CreateBuilder<TimelineHistoryEntry>();
        for (var i = 0; i < arr.Count; i++)
        {
            if (arr[i] is JsonArray line && line.Count >= 3 && line[0] is { } tl && JsonRead.TryLong(tl, out var timeline)
                && timeline is > 0 and <= int.MaxValue && line[1] is { } lsnNode && JsonRead.TryLong(lsnNode, out var lsn))
            {
                entries.Add(new TimelineHistoryEntry((int)timeline, lsn, AsString(line[2]) ?? "",
                    line.Count > 3 ? AsString(line[3]) : null, line.Count > 4 ? AsString(line[4]) : null));
            }
            else
                read.Problem($"line {i} is not [timeline, lsn, reason, …]: {JsonRead.Describe(arr[i])}; skipped");
        }
        return new TimelineHistory(entries.ToImmutable(), version, value);
    }

    /// <summary>
    /// Serializes the history; an empty history is <c>[]</c>. When <see cref="TimelineHistory.RawJson"/> is a JSON array
    /// with the same entries, it is returned byte for byte.
    /// </summary>
    public static string Serialize(TimelineHistory history)
    {
        if (history.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonArray && Parse(raw, history.Version, []).Entries.SequenceEqual(history.Entries.IsDefault ? [] : history.Entries))
            return raw;
        var arr = new JsonArray();
        foreach (var e in history.Entries.IsDefault ? [] : history.Entries)
        {
            var line = new JsonArray(e.Timeline, e.SwitchLsn, e.Reason);
            if (e.Timestamp is not null || e.NewLeader is not null) line.Add((JsonNode?)JsonValue.Create(e.Timestamp));
            if (e.NewLeader is not null) line.Add((JsonNode?)JsonValue.Create(e.NewLeader));
            arr.Add((JsonNode)line);
        }
        return PatroniJson.Serialize(arr);
    }

    private static string? AsString(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n is null ? null : PatroniJson.Serialize(n);
}
