using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>failsafe</c> key: <c>{"member": "api_url", …}</c>.</summary>
public static class FailsafeCodec
{
    /// <summary>Parses the map; non-string urls are reported and skipped.</summary>
    public static FailsafeMembers Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Failsafe, problems);
        var node = PatroniJson.TryParse(value, out var error);
        var members = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (node is JsonObject obj)
        {
            foreach (var (name, url) in obj)
            {
                if (url is JsonValue v && v.TryGetValue<string>(out var s)) members[name] = s;
                else read.Problem($"member '{name}' has a non-string url {JsonRead.Describe(url)}; skipped");
            }
        }
        else
            read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON object")}; ignored");
        return new FailsafeMembers(members.ToImmutable(), version, value);
    }

    /// <summary>
    /// Serializes the map, members in name order. When <see cref="FailsafeMembers.RawJson"/> is a JSON object with the
    /// same members and urls, it is returned byte for byte.
    /// </summary>
    public static string Serialize(FailsafeMembers failsafe)
    {
        if (failsafe.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject)
        {
            var old = Parse(raw, failsafe.Version, []);
            if (old.Members.Count == failsafe.Members.Count && old.Members.All(m => failsafe.Members.TryGetValue(m.Key, out var u) && u == m.Value))
                return raw;
        }
        var obj = new JsonObject();
        foreach (var (k, v) in failsafe.Members.OrderBy(m => m.Key, StringComparer.Ordinal)) obj[k] = v;
        return PatroniJson.Serialize(obj);
    }
}
