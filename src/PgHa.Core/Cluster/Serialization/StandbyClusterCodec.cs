using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads <c>standby_cluster</c> from the dynamic configuration (patroni-compat.md §5.13).</summary>
internal static class StandbyClusterCodec
{
    /// <summary>
    /// The section, or null when absent or null. Empty strings count as unset, as in Patroni (an empty host does not make
    /// a standby cluster); numbers are accepted where Patroni's YAML gives them (port, recovery_min_apply_delay).
    /// </summary>
    public static StandbyClusterConfig? Parse(JsonObject config, JsonRead read)
    {
        if (!config.TryGetPropertyValue("standby_cluster", out var node) || node is null) return null;
        if (node is not JsonObject obj)
        {
            read.Problem($"field 'standby_cluster' should be an object, found {JsonRead.Describe(node)}; ignored");
            return null;
        }
        int? port = null;
        if (Text(obj, "port", read) is { } portText)
        {
            if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536) port = p;
            else read.Problem($"field 'standby_cluster.port' should be a TCP port, found '{portText}'; ignored");
        }
        var methods = ImmutableArray.CreateBuilder<string>();
        switch (obj["create_replica_methods"])
        {
            case null:
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } m) methods.Add(m);
                    else read.Problem($"field 'standby_cluster.create_replica_methods' has a non-string entry {JsonRead.Describe(item)}; ignored");
                }
                break;
            case JsonValue single when single.GetValueKind() == JsonValueKind.String:
                if (single.GetValue<string>() is { Length: > 0 } one) methods.Add(one);
                break;
            case var other:
                read.Problem($"field 'standby_cluster.create_replica_methods' should be a list, found {JsonRead.Describe(other)}; ignored");
                break;
        }
        return new StandbyClusterConfig
        {
            Host = Text(obj, "host", read),
            Port = port,
            PrimarySlotName = Text(obj, "primary_slot_name", read),
            CreateReplicaMethods = methods.ToImmutable(),
            RestoreCommand = Text(obj, "restore_command", read),
            ArchiveCleanupCommand = Text(obj, "archive_cleanup_command", read),
            RecoveryMinApplyDelay = Text(obj, "recovery_min_apply_delay", read),
        };
    }

    /// <summary>A string or number field as text; null when absent, null or empty.</summary>
    private static string? Text(JsonObject obj, string field, JsonRead read)
    {
        if (!obj.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.String:
                    var s = v.GetValue<string>();
                    return s.Length == 0 ? null : s;
                case JsonValueKind.Number:
                    return PatroniJson.Serialize(v);
            }
        }
        read.Problem($"field 'standby_cluster.{field}' should be a string, found {JsonRead.Describe(node)}; ignored");
        return null;
    }
}
