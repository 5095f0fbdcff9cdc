using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>status</c> key (and reads the legacy <c>optime/leader</c>).</summary>
public static class StatusCodec
{
    /// <summary>Parses <c>{"optime":…,"slots":{…},"retain_slots":[…]}</c>.</summary>
    public static ClusterStatus Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Status, problems);
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON object")}; ignored");
            return new ClusterStatus(null, ImmutableDictionary<string, long>.Empty, ImmutableArray<string>.Empty, version, value);
        }
        var slots = ImmutableDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        if (obj["slots"] is JsonObject slotsObj)
        {
            foreach (var (slot, lsn) in slotsObj)
            {
                if (lsn is not null && JsonRead.TryLong(lsn, out var l)) slots[slot] = l;
                else read.Problem($"slot '{slot}' has a non-integer position {JsonRead.Describe(lsn)}; ignored");
            }
        }
        else if (obj["slots"] is { } other)
            read.Problem($"field 'slots' should be an object, found {JsonRead.Describe(other)}; ignored");

        var retain = ImmutableArray.CreateBuilder<string>();
        if (obj["retain_slots"] is JsonArray arr)
        {
            foreach (var item in arr)
            {
                if (item is JsonValue v && v.TryGetValue<string>(out var s)) retain.Add(s);
                else read.Problem($"field 'retain_slots' has a non-string entry {JsonRead.Describe(item)}; ignored");
            }
        }
        else if (obj["retain_slots"] is { } notArray)
            read.Problem($"field 'retain_slots' should be an array, found {JsonRead.Describe(notArray)}; ignored");
        return new ClusterStatus(read.Long(obj, "optime"), slots.ToImmutable(), retain.ToImmutable(), version, value);
    }

    /// <summary>Parses the legacy <c>optime/leader</c> value (a bare integer).</summary>
    public static long? ParseLegacyOptime(string value, List<DcsDataProblem> problems)
    {
        if (long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var lsn)) return lsn;
        problems.Add(new DcsDataProblem(ClusterKeys.LegacyOptime, $"expected an integer, found '{Truncate(value)}'; ignored"));
        return null;
    }

    /// <summary>
    /// Serializes as Patroni does: <c>optime</c>, then <c>slots</c> and <c>retain_slots</c> only when non-empty. When
    /// <see cref="ClusterStatus.RawJson"/> is a JSON object with the same content, it is returned byte for byte.
    /// </summary>
    public static string Serialize(ClusterStatus status)
    {
        if (status.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject && SameContent(status, Parse(raw, status.Version, [])))
            return raw;
        var obj = new JsonObject { ["optime"] = status.Optime ?? 0 };
        if (status.Slots.Count > 0)
        {
            var slots = new JsonObject();
            foreach (var (k, v) in status.Slots.OrderBy(s => s.Key, StringComparer.Ordinal)) slots[k] = v;
            obj["slots"] = slots;
        }
        if (!status.RetainSlots.IsDefaultOrEmpty)
            obj["retain_slots"] = new JsonArray(status.RetainSlots.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        return PatroniJson.Serialize(obj);
    }

    private static bool SameContent(ClusterStatus a, ClusterStatus b) =>
        a.Optime == b.Optime && a.Slots.Count == b.Slots.Count && a.Slots.All(s => b.Slots.TryGetValue(s.Key, out var v) && v == s.Value)
        && a.RetainSlots.SequenceEqual(b.RetainSlots);

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
