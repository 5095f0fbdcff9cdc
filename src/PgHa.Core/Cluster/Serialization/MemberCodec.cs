using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes <c>members/&lt;name&gt;</c> values in Patroni's format.</summary>
public static class MemberCodec
{
    // Patroni's touch_member builds the dict in this order; a member written from scratch uses it, and a field added
    // to an existing value is inserted where this order puts it.
    private static readonly string[] FieldOrder =
    [
        "conn_url", "api_url", "state", "role", "version", "proxy_url", "checkpoint_after_promote", "tags",
        "pending_restart", "xlog_location", "replication_state", "timeline", "receive_lsn", "replay_lsn", "pause",
    ];

    /// <summary>Parses a member value. Never throws: problems are appended to <paramref name="problems"/>.</summary>
    public static Member Parse(string name, string value, DcsVersion version, string? session, List<DcsDataProblem> problems)
    {
        if (IsLegacy(value))
        {
            // Governor's form, still read by Patroni: postgres://user:pass@host:port/db?application_name=<api_url>
            var (connUrl, apiUrl) = ParseLegacy(value);
            return new Member(name) { Version = version, Session = session, RawJson = value, ConnUrl = connUrl, ApiUrl = apiUrl };
        }

        return MemberFastReader.TryRead(name, value, version, session, out var fast)
            ? fast
            : ParseTolerant(name, value, version, session, problems);
    }

    /// <summary>The tree-based parse that tolerates and reports every kind of bad value (the fast reader's fallback).</summary>
    internal static Member ParseTolerant(string name, string value, DcsVersion version, string? session, List<DcsDataProblem> problems)
    {
        var key = ClusterKeys.Member(name);
        var read = new JsonRead(key, problems);
        var member = new Member(name) { Version = version, Session = session, RawJson = value };
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            read.Problem(node is null && error is not null
                ? $"not valid JSON ({error}); member ignored except its name"
                : $"expected a JSON object, found {JsonRead.Describe(node)}; member ignored except its name");
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
        };
    }

    /// <summary>
    /// Serializes a member. When <see cref="Member.RawJson"/> holds a JSON object, only the fields whose typed value
    /// differs from what that JSON reads as are touched: changed in place, inserted at Patroni's position, or removed
    /// when unset; unknown fields and the order of the rest stay as they are. When nothing differs the raw text itself
    /// is returned, byte for byte. Without a usable <see cref="Member.RawJson"/> the value is built in Patroni's order.
    /// </summary>
    /// <param name="member">The member to write.</param>
    /// <param name="legacyMasterRole">Write the primary's role as <c>master</c> (Patroni 3.x), unless the raw value already says <c>primary</c>.</param>
    public static string Serialize(Member member, bool legacyMasterRole = true)
    {
        JsonObject obj;
        Member baseline;
        var fromRaw = false;
        if (member.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject parsed)
        {
            fromRaw = true;
            obj = parsed;
            baseline = Parse(member.Name, raw, member.Version, member.Session, []);
        }
        else
        {
            if (member.RawJson is { } legacy && IsLegacy(legacy) && SameContent(Parse(member.Name, legacy, member.Version, member.Session, []), member))
                return legacy;
            obj = new JsonObject();
            baseline = new Member(member.Name);
        }

        var changed = false;
        void Apply(string field, bool differs, JsonNode? value)
        {
            if (!differs) return;
            changed = true;
            if (value is null) obj.Remove(field);
            else if (obj.ContainsKey(field)) obj[field] = value;
            else obj.Insert(InsertionIndex(obj, field), field, value);
        }

        Apply("conn_url", member.ConnUrl != baseline.ConnUrl, member.ConnUrl);
        Apply("api_url", member.ApiUrl != baseline.ApiUrl, member.ApiUrl);
        Apply("state", member.State != baseline.State, member.State);
        if (member.Role != MemberRole.Unknown)
        {
            var wire = MemberRoles.ToWire(member.Role, legacyMasterRole && !IsPrimaryString(obj["role"]));
            Apply("role", member.Role != baseline.Role || !IsString(obj["role"], wire), wire);
        }
        else
            Apply("role", baseline.Role != MemberRole.Unknown, null); // unknown role text in the raw value is kept
        Apply("version", member.AgentVersion != baseline.AgentVersion, member.AgentVersion);
        Apply("proxy_url", member.ProxyUrl != baseline.ProxyUrl, member.ProxyUrl);
        Apply("checkpoint_after_promote", member.CheckpointAfterPromote != baseline.CheckpointAfterPromote, member.CheckpointAfterPromote is false ? false : null); // Patroni only ever writes false
        Apply("tags", !member.Tags.Equals(baseline.Tags), member.Tags.Entries.IsDefaultOrEmpty ? null : TagsNode(member.Tags));
        Apply("pending_restart", member.PendingRestart != baseline.PendingRestart, member.PendingRestart ? true : null);
        Apply("xlog_location", member.XlogLocation != baseline.XlogLocation, member.XlogLocation);
        Apply("replication_state", member.ReplicationState != baseline.ReplicationState, member.ReplicationState);
        Apply("timeline", member.Timeline != baseline.Timeline, member.Timeline);
        Apply("receive_lsn", member.ReceiveLsn != baseline.ReceiveLsn, member.ReceiveLsn);
        Apply("replay_lsn", member.ReplayLsn != baseline.ReplayLsn, member.ReplayLsn);
        Apply("pause", member.Pause != baseline.Pause, member.Pause ? true : null);

        return !changed && fromRaw ? member.RawJson! : PatroniJson.Serialize(obj);
    }

    /// <summary>True for Governor's legacy value: a bare connection url instead of JSON (Patroni checks <c>startswith('postgres')</c>).</summary>
    private static bool IsLegacy(string value) => value.StartsWith("postgres", StringComparison.Ordinal);

    /// <summary>Patroni's <c>parse_connection_string</c>: the url without its query, and <c>application_name</c> from the query as api_url.</summary>
    private static (string ConnUrl, string? ApiUrl) ParseLegacy(string value)
    {
        var text = value;
        var fragment = "";
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0) { fragment = text[hash..]; text = text[..hash]; }
        var question = text.IndexOf('?', StringComparison.Ordinal);
        if (question < 0) return (value, null);
        string? apiUrl = null;
        foreach (var pair in text[(question + 1)..].Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == pair.Length - 1) continue; // parse_qsl drops blank values
            if (Unquote(pair[..eq]) == "application_name") { apiUrl = Unquote(pair[(eq + 1)..]); break; }
        }
        return (text[..question] + fragment, apiUrl);
    }

    private static string Unquote(string s)
    {
        try { return Uri.UnescapeDataString(s.Replace('+', ' ')); }
        catch (UriFormatException) { return s; }
    }

    private static bool SameContent(Member a, Member b) => a with { Version = b.Version, Session = b.Session, RawJson = b.RawJson } == b;

    private static int InsertionIndex(JsonObject obj, string field)
    {
        var rank = Array.IndexOf(FieldOrder, field);
        var index = 0;
        foreach (var (key, _) in obj)
        {
            var other = Array.IndexOf(FieldOrder, key);
            if (other > rank) return index;
            index++;
        }
        return index;
    }

    private static bool IsPrimaryString(JsonNode? node) => IsString(node, "primary");

    private static bool IsString(JsonNode? node, string text) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == text;

    private static JsonObject TagsNode(MemberTags tags)
    {
        var o = new JsonObject();
        foreach (var (k, v) in tags.Entries)
        {
            var value = PatroniJson.TryParse(v, out var error);
            if (value is null && error is not null)
                throw new ArgumentException($"tag '{k}' is not valid JSON text: {error}", nameof(tags));
            o[k] = value;
        }
        return o;
    }
}
