using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>config</c> key.</summary>
public static class ConfigCodec
{
    /// <summary>Parses the dynamic configuration; bad values fall back to Patroni's defaults and are reported.</summary>
    public static GlobalConfig Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Config, problems);
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            // Patroni treats an empty or broken config as missing: defaults apply and the leader rewrites it.
            if (value.Length > 0)
                read.Problem(node is null ? $"not valid JSON ({error}); defaults apply" : $"expected a JSON object, found {JsonRead.Describe(node)}; defaults apply");
            return new GlobalConfig { Version = version, RawJson = value };
        }
        var d = GlobalConfig.Default;
        var pg = obj["postgresql"] as JsonObject;
        return new GlobalConfig
        {
            Ttl = Positive(read, obj, "ttl", d.Ttl),
            LoopWait = Positive(read, obj, "loop_wait", d.LoopWait),
            RetryTimeout = Positive(read, obj, "retry_timeout", d.RetryTimeout),
            MaximumLagOnFailover = read.Long(obj, "maximum_lag_on_failover") ?? d.MaximumLagOnFailover,
            PrimaryStartTimeout = NonNegative(read, obj, obj.ContainsKey("primary_start_timeout") ? "primary_start_timeout" : "master_start_timeout", d.PrimaryStartTimeout),
            PrimaryStopTimeout = NonNegative(read, obj, obj.ContainsKey("primary_stop_timeout") ? "primary_stop_timeout" : "master_stop_timeout", d.PrimaryStopTimeout),
            SynchronousMode = read.Bool(obj, "synchronous_mode") ?? false,
            SynchronousModeStrict = read.Bool(obj, "synchronous_mode_strict") ?? false,
            SynchronousNodeCount = Positive(read, obj, "synchronous_node_count", d.SynchronousNodeCount),
            FailsafeMode = read.Bool(obj, "failsafe_mode") ?? false,
            CheckTimeline = read.Bool(obj, "check_timeline") ?? false,
            Pause = read.Bool(obj, "pause") ?? false,
            MaxTimelinesHistory = NonNegative(read, obj, "max_timelines_history", d.MaxTimelinesHistory),
            UsePgRewind = pg is not null && (read.Bool(pg, "use_pg_rewind") ?? false),
            UseSlots = pg is null || (read.Bool(pg, "use_slots") ?? true),
            Version = version,
            RawJson = value,
        };
    }

    /// <summary>Serializes a configuration: its raw JSON, re-emitted compactly.</summary>
    public static string Serialize(GlobalConfig config) =>
        PatroniJson.TryParse(config.RawJson, out _) is JsonObject obj ? PatroniJson.Serialize(obj) : "{}";

    private static int Positive(JsonRead read, JsonObject obj, string field, int fallback)
    {
        var v = read.Int(obj, field);
        if (v is null) return fallback;
        if (v > 0) return v.Value;
        read.Problem($"field '{field}' must be positive, found {v}; using {fallback}");
        return fallback;
    }

    private static int NonNegative(JsonRead read, JsonObject obj, string field, int fallback)
    {
        var v = read.Int(obj, field);
        if (v is null) return fallback;
        if (v >= 0) return v.Value;
        read.Problem($"field '{field}' must not be negative, found {v}; using {fallback}");
        return fallback;
    }
}
