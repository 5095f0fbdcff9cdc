using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Decisions;

namespace PgHa.Peers;

/// <summary>
/// Reads a peer's <c>GET /patroni</c> answer — from a PgHa or a Patroni node alike — into the facts the leader race
/// uses: role, WAL position, timeline, tags, watchdog state.
/// </summary>
public static class PatroniStatusReader
{
    /// <summary>Parses the body; a body that is not a JSON object yields an unreachable peer (it cannot be judged).</summary>
    public static PeerStatus Read(string memberName, string body)
    {
        if (PatroniJson.TryParse(body, out _) is not JsonObject obj) return PeerStatus.Unreachable(memberName);
        var role = MemberRoles.Parse(String(obj["role"]));
        long lsn = 0;
        if (obj["xlog"] is JsonObject xlog)
        {
            // A primary reports its location; a replica what it received and replayed (Patroni: the larger counts).
            if (Long(xlog["location"]) is { } location)
            {
                lsn = location;
                if (role == MemberRole.Unknown) role = MemberRole.Primary;
            }
            else
                lsn = Math.Max(Long(xlog["received_location"]) ?? 0, Long(xlog["replayed_location"]) ?? 0);
        }
        var tags = MemberTags.Empty;
        if (obj["tags"] is JsonObject tagObj)
            tags = new MemberTags(tagObj.Select(t => KeyValuePair.Create(t.Key, PatroniJson.Serialize(t.Value))).ToImmutableArray());
        return new PeerStatus(memberName, true)
        {
            Role = role,
            Lsn = lsn,
            Timeline = (int)(Long(obj["timeline"]) ?? 0),
            Tags = tags,
            WatchdogFailed = obj["watchdog_failed"] is JsonValue w && w.GetValueKind() == JsonValueKind.True,
        };
    }

    private static string? String(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long? Long(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) ? l
        : n is JsonValue e && e.TryGetValue<JsonElement>(out var el) && el.ValueKind == JsonValueKind.Number && el.TryGetInt64(out var l2) ? l2
        : null;
}
