using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes <c>members/&lt;name&gt;</c> values in Patroni's format.</summary>
public static class MemberCodec
{
    // Patroni's touch_member builds the dict in this order; a member written from scratch uses it.
    private static readonly string[] FieldOrder =
    [
        "conn_url", "api_url", "state", "role", "version", "proxy_url", "checkpoint_after_promote", "tags",
        "pending_restart", "xlog_location", "replication_state", "timeline", "receive_lsn", "replay_lsn", "pause",
    ];

    /// <summary>Parses a member value. Never throws: problems are appended to <paramref name="problems"/>.</summary>
    public static Member Parse(string name, string value, DcsVersion version, string? session, List<DcsDataProblem> problems)
    {
        var key = ClusterKeys.Member(name);
        var read = new JsonRead(key, problems);
        var member = new Member(name) { Version = version, Session = session };
        var trimmed = value.TrimStart();
        if (trimmed.StartsWith("postgres", StringComparison.Ordinal))
            return member with { ConnUrl = value.Trim() }; // legacy form: the whole value is the connection url

        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            read.Problem(node is null ? $"not valid JSON ({error}); member ignored except its name" : $"expected a JSON object, found {JsonRead.Describe(node)}");
            return member;
        }

        var tags = MemberTags.Empty;
        if (obj.TryGetPropertyValue("tags", out var tagsNode) && tagsNode is not null)
        {
            if (tagsNode is JsonObject tagsObj)
                tags = new MemberTags(tagsObj.Select(t => KeyValuePair.Create(t.Key, PatroniJson.Serialize(t.Value))).ToImmutableArray());
            else
                read.Problem($"field 'tags' should be an object, found {JsonRead.Describe(tagsNode)}; ignored");
        }

        var roleText = read.String(obj, "role");
        var role = MemberRoles.Parse(roleText);
        if (roleText is not null && role == MemberRole.Unknown)
            read.Problem($"field 'role' has unknown value '{roleText}'");

        return member with
        {
            ConnUrl = read.String(obj, "conn_url"),
            ApiUrl = read.String(obj, "api_url"),
            ProxyUrl = read.String(obj, "proxy_url"),
            State = read.String(obj, "state"),
            Role = role,
            AgentVersion = read.String(obj, "version"),
            XlogLocation = read.Long(obj, "xlog_location"),
            ReceiveLsn = read.Long(obj, "receive_lsn"),
            ReplayLsn = read.Long(obj, "replay_lsn"),
            Timeline = read.Int(obj, "timeline"),
            ReplicationState = read.String(obj, "replication_state"),
            Tags = tags,
            PendingRestart = read.Bool(obj, "pending_restart") ?? false,
            Pause = read.Bool(obj, "pause") ?? false,
            CheckpointAfterPromote = read.Bool(obj, "checkpoint_after_promote"),
            RawJson = value,
        };
    }

    /// <summary>
    /// Serializes a member. Starting from <see cref="Member.RawJson"/> (when present) keeps unknown fields and their
    /// order; known fields are updated in place, added in Patroni's order, or removed when unset.
    /// </summary>
    public static string Serialize(Member member, bool legacyMasterRole = true)
    {
        var obj = member.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject parsed ? parsed : new JsonObject();
        var values = new Dictionary<string, JsonNode?>
        {
            ["conn_url"] = member.ConnUrl,
            ["api_url"] = member.ApiUrl,
            ["state"] = member.State,
            ["role"] = member.Role == MemberRole.Unknown ? (obj["role"]?.DeepClone()) : MemberRoles.ToWire(member.Role, legacyMasterRole && !IsPrimaryString(obj["role"])),
            ["version"] = member.AgentVersion,
            ["proxy_url"] = member.ProxyUrl,
            ["checkpoint_after_promote"] = member.CheckpointAfterPromote is false ? false : null,
            ["tags"] = member.Tags.Entries.IsDefaultOrEmpty ? null : TagsNode(member.Tags),
            ["pending_restart"] = member.PendingRestart ? true : null,
            ["xlog_location"] = member.XlogLocation,
            ["replication_state"] = member.ReplicationState,
            ["timeline"] = member.Timeline,
            ["receive_lsn"] = member.ReceiveLsn,
            ["replay_lsn"] = member.ReplayLsn,
            ["pause"] = member.Pause ? true : null,
        };
        foreach (var field in FieldOrder)
        {
            var value = values[field];
            if (value is null)
                obj.Remove(field);
            else if (!obj.TryGetPropertyValue(field, out var existing) || !JsonNode.DeepEquals(existing, value))
                obj[field] = value;
        }
        return PatroniJson.Serialize(obj);
    }

    private static bool IsPrimaryString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "primary";

    private static JsonObject TagsNode(MemberTags tags)
    {
        var o = new JsonObject();
        foreach (var (k, v) in tags.Entries) o[k] = JsonNode.Parse(v);
        return o;
    }
}
