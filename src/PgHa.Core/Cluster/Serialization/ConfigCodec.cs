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
                read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON object")}; defaults apply");
            return new GlobalConfig { Version = version, RawJson = value };
        }
        var d = GlobalConfig.Default;
        var pg = obj["postgresql"] as JsonObject;
        if (pg is null && obj["postgresql"] is { } notObject)
            read.Problem($"field 'postgresql' should be an object, found {JsonRead.Describe(notObject)}; its defaults apply");
        return new GlobalConfig
        {
            Ttl = Positive(read, obj, "ttl", d.Ttl),
            LoopWait = Positive(read, obj, "loop_wait", d.LoopWait),
            RetryTimeout = Positive(read, obj, "retry_timeout", d.RetryTimeout),
            MaximumLagOnFailover = read.Long(obj, "maximum_lag_on_failover") ?? d.MaximumLagOnFailover,
            MaximumLagOnSyncnode = read.Long(obj, "maximum_lag_on_syncnode") ?? d.MaximumLagOnSyncnode,
            PrimaryStartTimeout = NonNegative(read, obj, Alias(obj, "primary_start_timeout", "master_start_timeout"), d.PrimaryStartTimeout),
            PrimaryStopTimeout = NonNegative(read, obj, Alias(obj, "primary_stop_timeout", "master_stop_timeout"), d.PrimaryStopTimeout),
            SynchronousMode = read.Bool(obj, "synchronous_mode") ?? false,
            SynchronousModeStrict = read.Bool(obj, "synchronous_mode_strict") ?? false,
            SynchronousNodeCount = Positive(read, obj, "synchronous_node_count", d.SynchronousNodeCount),
            FailsafeMode = read.Bool(obj, "failsafe_mode") ?? false,
            CheckTimeline = read.Bool(obj, "check_timeline") ?? false,
            Pause = read.Bool(obj, "pause") ?? false,
            MaxTimelinesHistory = NonNegative(read, obj, "max_timelines_history", d.MaxTimelinesHistory),
            UsePgRewind = pg is not null && (read.Bool(pg, "use_pg_rewind") ?? false),
            UseSlots = pg is null || (read.Bool(pg, "use_slots") ?? true),
            StandbyCluster = StandbyClusterCodec.Parse(obj, read),
            Slots = SlotsCodec.Parse(obj, read),
            Version = version,
            RawJson = value,
        };
    }

    /// <summary>
    /// Serializes a configuration. <see cref="GlobalConfig.RawJson"/> is the base: only the keys whose typed property
    /// differs from what that JSON reads as are written (changed in place, or appended at the end as Patroni's
    /// <c>PATCH /config</c> does); every other key, its text and its position stay. When no typed property differs the
    /// raw text itself is returned, byte for byte, so a value <c>patronictl edit-config</c> wrote with <c>", "</c>
    /// separators stays as it is. A change re-emits the whole value compactly, as Patroni's REST API does.
    /// </summary>
    /// <remarks>
    /// A property set back to its default is written explicitly (<c>"synchronous_mode":false</c>), except
    /// <see cref="GlobalConfig.Pause"/>: resuming removes the <c>pause</c> key, as <c>patronictl resume</c> does.
    /// </remarks>
    public static string Serialize(GlobalConfig config)
    {
        JsonObject obj;
        GlobalConfig baseline;
        var fromRaw = false;
        if (PatroniJson.TryParse(config.RawJson ?? "", out _) is JsonObject parsed)
        {
            obj = parsed;
            baseline = Parse(config.RawJson!, config.Version, []);
            fromRaw = true;
        }
        else
        {
            obj = new JsonObject();
            baseline = GlobalConfig.Default;
        }

        var changed = false;
        void Set(JsonObject target, string field, bool differs, JsonNode? value)
        {
            if (!differs) return;
            changed = true;
            if (value is null) target.Remove(field);
            else target[field] = value; // in place when present, appended otherwise
        }

        Set(obj, "ttl", config.Ttl != baseline.Ttl, config.Ttl);
        Set(obj, "loop_wait", config.LoopWait != baseline.LoopWait, config.LoopWait);
        Set(obj, "retry_timeout", config.RetryTimeout != baseline.RetryTimeout, config.RetryTimeout);
        Set(obj, "maximum_lag_on_failover", config.MaximumLagOnFailover != baseline.MaximumLagOnFailover, config.MaximumLagOnFailover);
        Set(obj, "maximum_lag_on_syncnode", config.MaximumLagOnSyncnode != baseline.MaximumLagOnSyncnode, config.MaximumLagOnSyncnode);
        Set(obj, Alias(obj, "primary_start_timeout", "master_start_timeout"), config.PrimaryStartTimeout != baseline.PrimaryStartTimeout, config.PrimaryStartTimeout);
        Set(obj, Alias(obj, "primary_stop_timeout", "master_stop_timeout"), config.PrimaryStopTimeout != baseline.PrimaryStopTimeout, config.PrimaryStopTimeout);
        Set(obj, "synchronous_mode", config.SynchronousMode != baseline.SynchronousMode, config.SynchronousMode);
        Set(obj, "synchronous_mode_strict", config.SynchronousModeStrict != baseline.SynchronousModeStrict, config.SynchronousModeStrict);
        Set(obj, "synchronous_node_count", config.SynchronousNodeCount != baseline.SynchronousNodeCount, config.SynchronousNodeCount);
        Set(obj, "failsafe_mode", config.FailsafeMode != baseline.FailsafeMode, config.FailsafeMode);
        Set(obj, "check_timeline", config.CheckTimeline != baseline.CheckTimeline, config.CheckTimeline);
        Set(obj, "max_timelines_history", config.MaxTimelinesHistory != baseline.MaxTimelinesHistory, config.MaxTimelinesHistory);
        Set(obj, "pause", config.Pause != baseline.Pause, config.Pause ? true : null);
        if (config.UsePgRewind != baseline.UsePgRewind || config.UseSlots != baseline.UseSlots)
        {
            if (obj["postgresql"] is not JsonObject pg)
            {
                pg = new JsonObject();
                obj["postgresql"] = pg;
            }
            Set(pg, "use_pg_rewind", config.UsePgRewind != baseline.UsePgRewind, config.UsePgRewind);
            Set(pg, "use_slots", config.UseSlots != baseline.UseSlots, config.UseSlots);
        }

        return !changed && fromRaw ? config.RawJson! : PatroniJson.Serialize(obj);
    }

    private static string Alias(JsonObject obj, string name, string legacyName) =>
        !obj.ContainsKey(name) && obj.ContainsKey(legacyName) ? legacyName : name;

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
