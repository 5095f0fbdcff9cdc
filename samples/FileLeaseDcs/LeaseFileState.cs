using System.Text.Json;

namespace PgHa.Samples.FileLeaseDcs;

/// <summary>
/// The whole key space of one cluster, as stored in its state file: every key with its value, version and expiry, a
/// revision counting changes, and the revision of the last change to a key that wakes waiters.
/// </summary>
internal sealed class LeaseFileState
{
    public long Revision { get; set; }

    /// <summary>Revision of the latest create, change, delete or expiry of <c>leader</c>, <c>config</c> or <c>failover</c>.</summary>
    public long DecisionRevision { get; set; }

    public SortedDictionary<string, LeaseFileEntry> Keys { get; } = new(StringComparer.Ordinal);

    private static bool WakesWaiters(string key) => key is "leader" or "config" or "failover";

    /// <summary>Removes keys whose lease ran out at <paramref name="nowMs"/>; true when any did.</summary>
    public bool Sweep(long nowMs)
    {
        var expired = Keys.Where(k => k.Value.ExpiresMs is { } at && at <= nowMs).Select(k => k.Key).ToList();
        foreach (var key in expired) Remove(key);
        return expired.Count > 0;
    }

    public LeaseFileEntry Put(string key, string value, long? expiresMs)
    {
        var entry = new LeaseFileEntry(value, ++Revision, expiresMs);
        Keys[key] = entry;
        if (WakesWaiters(key)) DecisionRevision = Revision;
        return entry;
    }

    public void Remove(string key)
    {
        if (!Keys.Remove(key)) return;
        Revision++;
        if (WakesWaiters(key)) DecisionRevision = Revision;
    }

    public static LeaseFileState Parse(byte[] json)
    {
        var state = new LeaseFileState();
        if (json.Length == 0) return state;
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        state.Revision = root.GetProperty("revision").GetInt64();
        state.DecisionRevision = root.GetProperty("decision_revision").GetInt64();
        foreach (var key in root.GetProperty("keys").EnumerateObject())
        {
            var expires = key.Value.GetProperty("expires_ms");
            state.Keys[key.Name] = new LeaseFileEntry(key.Value.GetProperty("value").GetString()!, key.Value.GetProperty("version").GetInt64(),
                expires.ValueKind == JsonValueKind.Null ? null : expires.GetInt64());
        }
        return state;
    }

    public byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("revision", Revision);
            json.WriteNumber("decision_revision", DecisionRevision);
            json.WriteStartObject("keys");
            foreach (var (key, entry) in Keys)
            {
                json.WriteStartObject(key);
                json.WriteString("value", entry.Value);
                json.WriteNumber("version", entry.Version);
                if (entry.ExpiresMs is { } at) json.WriteNumber("expires_ms", at);
                else json.WriteNull("expires_ms");
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}

/// <summary>One key: its value, the revision that last changed it (its version) and when its lease runs out (null: never).</summary>
internal sealed record LeaseFileEntry(string Value, long Version, long? ExpiresMs)
{
    public long? ExpiresMs { get; set; } = ExpiresMs;
}
