using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json;

namespace PgHa.Cluster.Serialization;

/// <summary>
/// Reads a well-formed member value in one forward pass, without building a JSON tree. Every node reads every member
/// every cycle and members change every cycle (their WAL position moves), so this is the hottest parse in PgHa. It
/// gives up — and <see cref="MemberCodec.Parse"/> takes the tolerant path, which reports problems — on anything
/// unusual: a wrong type, a duplicate field, escapes or non-ASCII text in a tag, invalid JSON.
/// </summary>
internal static class MemberFastReader
{
    private const int StackLimit = 1024;

    public static bool TryRead(string name, string value, DcsVersion version, string? session, out Member member)
    {
        member = null!;
        // Lone surrogates would be silently replaced by the UTF-8 encoder; the tolerant path reports them.
        foreach (var c in value)
            if (char.IsSurrogate(c)) return false;
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(value, buffer);
            return TryRead(buffer[..length], name, value, version, session, out member);
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryRead(ReadOnlySpan<byte> utf8, string name, string raw, DcsVersion version, string? session, out Member member)
    {
        member = null!;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;

        string? connUrl = null, apiUrl = null, proxyUrl = null, state = null, agentVersion = null, replicationState = null;
        long? xlog = null, receive = null, replay = null;
        int? timeline = null;
        bool pendingRestart = false, pause = false;
        bool? checkpointAfterPromote = null;
        var role = MemberRole.Unknown;
        var tags = MemberTags.Empty;
        var seen = 0;

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                if (reader.Read()) return false; // trailing content
                member = new Member(name)
                {
                    ConnUrl = connUrl, ApiUrl = apiUrl, ProxyUrl = proxyUrl, State = state, Role = role, AgentVersion = agentVersion,
                    XlogLocation = xlog, ReceiveLsn = receive, ReplayLsn = replay, Timeline = timeline, ReplicationState = replicationState,
                    Tags = tags, PendingRestart = pendingRestart, Pause = pause, CheckpointAfterPromote = checkpointAfterPromote,
                    Version = version, Session = session, RawJson = raw,
                };
                return true;
            }
            if (reader.TokenType != JsonTokenType.PropertyName) return false;
            var field = Field(ref reader);
            // Escaped names and values (\u sequences) are rare in Patroni data; their decoding rules are the tolerant path's.
            if (field < 0 || !reader.Read()) return false;
            if (field > 0)
            {
                if ((seen & (1 << field)) != 0) return false; // duplicate: Python keeps the last one, the slow path too
                seen |= 1 << field;
            }
            var ok = field switch
            {
                1 => Str(ref reader, out connUrl),
                2 => Str(ref reader, out apiUrl),
                3 => Str(ref reader, out proxyUrl),
                4 => Str(ref reader, out state),
                5 => Str(ref reader, out var roleText) && (roleText is null || (role = MemberRoles.Parse(roleText)) != MemberRole.Unknown),
                6 => Str(ref reader, out agentVersion),
                7 => Long(ref reader, out xlog),
                8 => Long(ref reader, out receive),
                9 => Long(ref reader, out replay),
                10 => Long(ref reader, out var tl) && (tl is null or (>= int.MinValue and <= int.MaxValue)) && (timeline = (int?)tl) == timeline,
                11 => Str(ref reader, out replicationState),
                12 => Bool(ref reader, out var pr) && (pendingRestart = pr ?? false) == pendingRestart,
                13 => Bool(ref reader, out var pa) && (pause = pa ?? false) == pause,
                14 => Bool(ref reader, out checkpointAfterPromote),
                15 => Tags(ref reader, out tags),
                _ => Skip(ref reader),
            };
            if (!ok) return false;
        }
        return false;
    }

    private static int Field(ref Utf8JsonReader r)
    {
        if (r.ValueIsEscaped) return -1;
        var s = r.ValueSpan;
        return s switch
        {
            _ when s.SequenceEqual("conn_url"u8) => 1,
            _ when s.SequenceEqual("api_url"u8) => 2,
            _ when s.SequenceEqual("proxy_url"u8) => 3,
            _ when s.SequenceEqual("state"u8) => 4,
            _ when s.SequenceEqual("role"u8) => 5,
            _ when s.SequenceEqual("version"u8) => 6,
            _ when s.SequenceEqual("xlog_location"u8) => 7,
            _ when s.SequenceEqual("receive_lsn"u8) => 8,
            _ when s.SequenceEqual("replay_lsn"u8) => 9,
            _ when s.SequenceEqual("timeline"u8) => 10,
            _ when s.SequenceEqual("replication_state"u8) => 11,
            _ when s.SequenceEqual("pending_restart"u8) => 12,
            _ when s.SequenceEqual("pause"u8) => 13,
            _ when s.SequenceEqual("checkpoint_after_promote"u8) => 14,
            _ when s.SequenceEqual("tags"u8) => 15,
            _ => 0,
        };
    }

    private static bool Str(ref Utf8JsonReader r, out string? value)
    {
        value = null;
        if (r.TokenType == JsonTokenType.Null) return true;
        if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped) return false;
        value = r.GetString();
        return true;
    }

    private static bool Long(ref Utf8JsonReader r, out long? value)
    {
        value = null;
        if (r.TokenType == JsonTokenType.Null) return true;
        if (r.TokenType != JsonTokenType.Number || !r.TryGetInt64(out var v)) return false;
        value = v;
        return true;
    }

    private static bool Bool(ref Utf8JsonReader r, out bool? value)
    {
        value = r.TokenType switch { JsonTokenType.True => true, JsonTokenType.False => false, _ => null };
        return value is not null || r.TokenType == JsonTokenType.Null;
    }

    private static bool Tags(ref Utf8JsonReader r, out MemberTags tags)
    {
        tags = MemberTags.Empty;
        if (r.TokenType == JsonTokenType.Null) return true;
        if (r.TokenType != JsonTokenType.StartObject) return false;
        var entries = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped || !IsPlainAscii(r.ValueSpan)) return false;
            var key = r.GetString()!;
            foreach (var e in entries) if (e.Key == key) return false;
            if (!r.Read()) return false;
            string text;
            switch (r.TokenType)
            {
                case JsonTokenType.True: text = "true"; break;
                case JsonTokenType.False: text = "false"; break;
                case JsonTokenType.Null: text = "null"; break;
                case JsonTokenType.Number: text = Encoding.UTF8.GetString(r.ValueSpan); break;
                case JsonTokenType.String:
                    // Raw text equals Python's re-serialization only without escapes and outside ASCII control/DEL.
                    if (r.ValueIsEscaped || !IsPlainAscii(r.ValueSpan)) return false;
                    text = "\"" + Encoding.UTF8.GetString(r.ValueSpan) + "\"";
                    break;
                default: return false;
            }
            entries.Add(KeyValuePair.Create(key, text));
        }
        if (r.TokenType != JsonTokenType.EndObject) return false;
        tags = entries.Count == 0 ? MemberTags.Empty : new MemberTags(entries.ToImmutable());
        return true;
    }

    private static bool IsPlainAscii(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
            if (b is < 0x20 or > 0x7e) return false;
        return true;
    }

    private static bool Skip(ref Utf8JsonReader r)
    {
        // Unknown fields are kept verbatim in RawJson; only their escapes need the tolerant path's checks.
        if (r.TokenType is JsonTokenType.String && r.ValueIsEscaped) return false;
        if (r.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return true;
        var depth = r.CurrentDepth;
        while (r.Read() && r.CurrentDepth > depth)
            if (r.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && r.ValueIsEscaped) return false;
        return true;
    }
}
