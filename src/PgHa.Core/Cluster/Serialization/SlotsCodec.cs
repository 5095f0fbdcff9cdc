using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads <c>slots</c> (and its aliases) and <c>ignore_slots</c> from the dynamic configuration (§5.15, §6).</summary>
internal static partial class SlotsCodec
{
    /// <summary>
    /// Permanent slots follow Patroni 3.0.2: the first non-empty of <c>permanent_replication_slots</c>,
    /// <c>permanent_slots</c>, <c>slots</c>; an entry with no value (null, 0, <c>{}</c>) is physical; an object without
    /// <c>type</c> is logical when it names both database and plugin, else physical. Invalid names and logical slots
    /// without database or plugin are reported and left out.
    /// </summary>
    public static ReplicationSlotsConfig Parse(JsonObject config, JsonRead read)
    {
        var permanent = ImmutableArray.CreateBuilder<PermanentSlot>();
        var field = new[] { "permanent_replication_slots", "permanent_slots", "slots" }.FirstOrDefault(f => config[f] is JsonObject { Count: > 0 });
        if (field is not null)
        {
            foreach (var (name, value) in (JsonObject)config[field]!)
            {
                if (!SlotName().IsMatch(name))
                {
                    read.Problem($"permanent slot '{name}': a slot name may only contain lower case letters, digits and underscores (at most 63); ignored");
                    continue;
                }
                if (Slot(name, value, field, read) is { } slot) permanent.Add(slot);
            }
        }
        else
        {
            foreach (var f in new[] { "permanent_replication_slots", "permanent_slots", "slots" })
                if (config[f] is { } other and not JsonObject)
                    read.Problem($"field '{f}' should be an object of slot names, found {JsonRead.Describe(other)}; ignored");
        }

        var ignore = ImmutableArray.CreateBuilder<IgnoreSlotRule>();
        switch (config["ignore_slots"])
        {
            case null:
                break;
            case JsonArray rules:
                foreach (var rule in rules)
                {
                    if (rule is not JsonObject r)
                    {
                        read.Problem($"field 'ignore_slots' has an entry that is not an object: {JsonRead.Describe(rule)}; ignored");
                        continue;
                    }
                    ignore.Add(new IgnoreSlotRule(Str(r, "name", read), Str(r, "type", read), Str(r, "database", read), Str(r, "plugin", read)));
                }
                break;
            case var other:
                read.Problem($"field 'ignore_slots' should be a list, found {JsonRead.Describe(other)}; ignored");
                break;
        }
        return permanent.Count == 0 && ignore.Count == 0 ? ReplicationSlotsConfig.None : new ReplicationSlotsConfig(permanent.ToImmutable(), ignore.ToImmutable());
    }

    private static PermanentSlot? Slot(string name, JsonNode? value, string field, JsonRead read)
    {
        if (value is null || value is JsonObject { Count: 0 } || (value is JsonValue v0 && IsFalsy(v0)))
            return new PermanentSlot(name, ReplicationSlotType.Physical);
        if (value is not JsonObject obj)
        {
            read.Problem($"field '{field}.{name}' should be an object, found {JsonRead.Describe(value)}; ignored");
            return null;
        }
        var database = Str(obj, "database", read);
        var plugin = Str(obj, "plugin", read);
        var type = Str(obj, "type", read) ?? (database is { Length: > 0 } && plugin is { Length: > 0 } ? "logical" : "physical");
        switch (type)
        {
            case "physical":
                return new PermanentSlot(name, ReplicationSlotType.Physical);
            case "logical" when database is { Length: > 0 } && plugin is { Length: > 0 }:
                return new PermanentSlot(name, ReplicationSlotType.Logical, database, plugin);
            case "logical":
                read.Problem($"permanent logical slot '{name}' needs both 'database' and 'plugin'; ignored");
                return null;
            default:
                read.Problem($"permanent slot '{name}' has type '{type}', expected physical or logical; ignored");
                return null;
        }
    }

    private static bool IsFalsy(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.False or JsonValueKind.Null => true,
        JsonValueKind.Number => JsonRead.TryLong(v, out var n) && n == 0,
        JsonValueKind.String => v.GetValue<string>().Length == 0,
        _ => false,
    };

    private static string? Str(JsonObject obj, string field, JsonRead read)
    {
        if (!obj.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        read.Problem($"slot field '{field}' should be a string, found {JsonRead.Describe(node)}; ignored");
        return null;
    }

    [GeneratedRegex("^[a-z0-9_]{1,63}$")]
    private static partial Regex SlotName();
}
