using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Tolerant field readers: a wrong type is recorded as a problem and read as null, never thrown.</summary>
internal sealed class JsonRead(string key, List<DcsDataProblem> problems)
{
    public void Problem(string text) => problems.Add(new DcsDataProblem(key, text));

    public string? String(JsonObject obj, string field)
    {
        if (!obj.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        Problem($"field '{field}' should be a string, found {Describe(node)}; ignored");
        return null;
    }

    public long? Long(JsonObject obj, string field) => Long(obj, field, field);

    public long? Long(JsonObject obj, string field, string label)
    {
        if (!obj.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (TryLong(node, out var value)) return value;
        Problem($"field '{label}' should be an integer, found {Describe(node)}; ignored");
        return null;
    }

    public int? Int(JsonObject obj, string field)
    {
        var l = Long(obj, field);
        if (l is null) return null;
        if (l is < int.MinValue or > int.MaxValue)
        {
            Problem($"field '{field}' is out of range ({l}); ignored");
            return null;
        }
        return (int)l;
    }

    public bool? Bool(JsonObject obj, string field)
    {
        if (!obj.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                case JsonValueKind.String:
                    var s = v.GetValue<string>().Trim().ToLowerInvariant();
                    if (s is "true" or "on" or "yes" or "1") return true;
                    if (s is "false" or "off" or "no" or "0") return false;
                    break;
                case JsonValueKind.Number:
                    if (TryLong(v, out var n)) return n != 0;
                    break;
            }
        }
        Problem($"field '{field}' should be a boolean, found {Describe(node)}; ignored");
        return null;
    }

    public static bool TryLong(JsonNode node, out long value)
    {
        value = 0;
        if (node is not JsonValue v) return false;
        switch (v.GetValueKind())
        {
            case JsonValueKind.Number:
                if (v.TryGetValue<long>(out value)) return true;
                if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e18) { value = (long)d; return true; }
                return false;
            case JsonValueKind.String:
                return long.TryParse(v.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
            default:
                return false;
        }
    }

    public static string Describe(JsonNode? node)
    {
        var text = node is null ? "null" : PatroniJson.Serialize(node);
        return text.Length > 40 ? text[..40] + "…" : text;
    }
}
