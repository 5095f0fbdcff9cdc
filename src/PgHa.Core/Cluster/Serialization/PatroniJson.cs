using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>
/// Reads and writes JSON exactly as Patroni (Python's <c>json.dumps(obj, separators=(',', ':'))</c>) does, so values
/// PgHa writes into the DCS are byte-identical to what a Patroni node would write for the same data.
/// </summary>
/// <remarks>
/// Python escapes every non-ASCII character as <c>\uXXXX</c> (surrogate pairs beyond the BMP) and leaves
/// <c>/ &lt; &gt; &amp; ' +</c> alone, which no <see cref="System.Text.Encodings.Web.JavaScriptEncoder"/> does; hence
/// a writer of our own. Numbers are written with the text they were parsed from, so <c>1.0</c> stays <c>1.0</c>;
/// numbers placed into a node as CLR values are written as Python writes an <c>int</c> or a <c>float</c>
/// (<see cref="FormatDouble"/>).
/// </remarks>
public static class PatroniJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = MaxDepth };

    /// <summary>Deepest nesting accepted; deeper values are rejected as malformed instead of exhausting the stack.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Parses JSON text; returns <c>null</c> (and an error message) instead of throwing on malformed input. The literal
    /// <c>null</c> also returns <c>null</c>, with a null <paramref name="error"/>.
    /// </summary>
    /// <remarks>
    /// The whole tree is built eagerly, so nothing can throw later when a value is read: strings with lone surrogate
    /// escapes (<c>"\ud800"</c>, which Python accepts but .NET strings cannot hold as JSON) and raw lone surrogates in
    /// <paramref name="text"/> are reported here. Duplicate object keys behave as in Python's <c>json.loads</c>: the
    /// last value wins, at the position of the first occurrence.
    /// </remarks>
    public static JsonNode? TryParse(string text, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(text, DocumentOptions);
            return Build(doc.RootElement);
        }
        catch (JsonException ex)
        {
            error = ex.Message;
        }
        catch (InvalidOperationException ex)
        {
            // An escape sequence that decodes to a lone surrogate (reading a string or a property name).
            error = ex.Message;
        }
        catch (ArgumentException ex)
        {
            // A raw lone surrogate in the .NET string, which cannot be transcoded to UTF-8.
            error = ex.Message;
        }
        return null;
    }

    /// <summary>Describes what <see cref="TryParse"/> found when it did not return the expected container.</summary>
    internal static string DescribeUnexpected(JsonNode? node, string? error, string expected) =>
        node is null && error is not null ? $"not valid JSON ({error})" : $"expected {expected}, found {JsonRead.Describe(node)}";

    private static JsonNode? Build(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    var name = property.Name;
                    var value = Build(property.Value);
                    if (obj.ContainsKey(name)) obj[name] = value; // replaces in place: Python keeps the first position
                    else obj.Add(name, value);
                }
                return obj;
            case JsonValueKind.Array:
                var arr = new JsonArray();
                foreach (var item in element.EnumerateArray()) arr.Add(Build(item));
                return arr;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString()!);
            case JsonValueKind.Number:
                return JsonValue.Create(element.Clone()); // keeps the number's text
            case JsonValueKind.True:
                return JsonValue.Create(true);
            case JsonValueKind.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    /// <summary>Serializes compactly with Python's escaping rules.</summary>
    public static string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder(128);
        Write(sb, node, spaced: false);
        return sb.ToString();
    }

    /// <summary>
    /// Serializes with Python's default separators (<c>", "</c> and <c>": "</c>), as Patroni's REST API answers.
    /// </summary>
    public static string SerializeSpaced(JsonNode? node)
    {
        var sb = new StringBuilder(256);
        Write(sb, node, spaced: true);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node, bool spaced)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first) sb.Append(spaced ? ", " : ",");
                    first = false;
                    WriteString(sb, key);
                    sb.Append(spaced ? ": " : ":");
                    Write(sb, value, spaced);
                }
                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0) sb.Append(spaced ? ", " : ",");
                    Write(sb, arr[i], spaced);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value, spaced);
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value, bool spaced)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String: WriteString(sb, element.GetString()!); return;
                case JsonValueKind.Number: sb.Append(element.GetRawText()); return;
                case JsonValueKind.True: sb.Append("true"); return;
                case JsonValueKind.False: sb.Append("false"); return;
                case JsonValueKind.Null: sb.Append("null"); return;
                default: Write(sb, Build(element), spaced); return;
            }
        }
        if (value.TryGetValue<string>(out var s)) { WriteString(sb, s); return; }
        if (value.TryGetValue<bool>(out var b)) { sb.Append(b ? "true" : "false"); return; }
        if (value.TryGetValue<long>(out var l)) { sb.Append(l.ToString(CultureInfo.InvariantCulture)); return; }
        if (value.TryGetValue<int>(out var i)) { sb.Append(i.ToString(CultureInfo.InvariantCulture)); return; }
        if (value.TryGetValue<ulong>(out var ul)) { sb.Append(ul.ToString(CultureInfo.InvariantCulture)); return; }
        if (value.TryGetValue<double>(out var d)) { sb.Append(FormatDouble(d)); return; }
        if (value.TryGetValue<decimal>(out var m)) { sb.Append(m.ToString(CultureInfo.InvariantCulture)); return; }
        // Anything else (a CLR object placed into a node) goes through System.Text.Json and is re-read as a node.
        Write(sb, JsonNode.Parse(value.ToJsonString()), spaced);
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, fixed notation for exponents -4..15, else <c>1e+16</c> style.</summary>
    internal static string FormatDouble(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        // "E16" is not shortest; "R" is (since .NET Core 3.0) but picks its own notation, so take its digits apart.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        if (negative) r = r[1..];
        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var pointPos = (dot < 0 ? r.Length : dot) + exponent; // digits before the decimal point
        var digits = dot < 0 ? r : r.Remove(dot, 1);
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; pointPos--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) { digits = "0"; pointPos = 1; }
        var sb = new StringBuilder(32);
        if (negative) sb.Append('-');
        var sciExponent = pointPos - 1;
        if (digits == "0") sciExponent = 0;
        if (sciExponent is >= -4 and < 16)
        {
            if (pointPos <= 0) sb.Append("0.").Append('0', -pointPos).Append(digits);
            else if (pointPos >= digits.Length) sb.Append(digits).Append('0', pointPos - digits.Length).Append(".0");
            else sb.Append(digits, 0, pointPos).Append('.').Append(digits, pointPos, digits.Length - pointPos);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(sciExponent < 0 ? '-' : '+').Append(Math.Abs(sciExponent).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
