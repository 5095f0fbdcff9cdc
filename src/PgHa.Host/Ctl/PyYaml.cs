using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PgHa.Cluster.Serialization;
using PgHa.Host.Configuration;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Ctl;

/// <summary>
/// Writes JSON data as YAML the way patronictl shows it (PyYAML's <c>safe_dump(data, default_flow_style=…,
/// allow_unicode=True, width=200)</c>): keys sorted, sequences inside mappings not indented, a string quoted only when
/// written plain it would read back as something else (<c>'true'</c>, <c>'10'</c>, <c>'*'</c>, timestamps).
/// </summary>
/// <remarks>
/// Operators diff and edit this text (<c>edit-config</c>, <c>show-config</c>), so it must look like what they saw from
/// patronictl. Multi-line strings are written double-quoted (PyYAML folds them single-quoted); both read back the same.
/// </remarks>
public static partial class PyYaml
{
    /// <summary>The YAML text of <paramref name="data"/>, ending with a line break.</summary>
    /// <param name="data">The value.</param>
    /// <param name="flow">True for <c>default_flow_style=True</c>: <c>{a: 1, b: [x, y]}</c>.</param>
    public static string Dump(JsonNode? data, bool flow = false)
    {
        var sb = new StringBuilder();
        if (flow || IsScalarOrEmpty(data))
        {
            WriteFlow(sb, data);
            sb.Append('\n');
            // PyYAML ends a document made of a single plain scalar with an explicit end marker.
            if (data is not JsonObject and not JsonArray) sb.Append("...\n");
            return sb.ToString();
        }
        WriteBlock(sb, data!, 0, afterDash: false);
        return sb.ToString();
    }

    private static bool IsScalarOrEmpty(JsonNode? node) => node switch
    {
        JsonObject o => o.Count == 0,
        JsonArray a => a.Count == 0,
        _ => true,
    };

    private static IEnumerable<KeyValuePair<string, JsonNode?>> Sorted(JsonObject o) => o.OrderBy(p => p.Key, StringComparer.Ordinal);

    // Writes a non-empty mapping or sequence in block style at `indent`. When afterDash, the first line continues a "- ".
    private static void WriteBlock(StringBuilder sb, JsonNode node, int indent, bool afterDash)
    {
        var first = true;
        if (node is JsonObject obj)
        {
            foreach (var (key, value) in Sorted(obj))
            {
                if (!(first && afterDash)) sb.Append(' ', indent);
                first = false;
                sb.Append(Scalar(key, inFlow: false, simpleKey: true)).Append(':');
                if (IsScalarOrEmpty(value))
                {
                    sb.Append(' ');
                    WriteFlow(sb, value);
                    sb.Append('\n');
                }
                else if (value is JsonArray)
                {
                    sb.Append('\n');
                    WriteBlock(sb, value!, indent, afterDash: false); // PyYAML does not indent a sequence inside a mapping
                }
                else
                {
                    sb.Append('\n');
                    WriteBlock(sb, value!, indent + 2, afterDash: false);
                }
            }
            return;
        }
        foreach (var item in (JsonArray)node)
        {
            if (!(first && afterDash)) sb.Append(' ', indent);
            first = false;
            sb.Append("- ");
            if (IsScalarOrEmpty(item))
            {
                WriteFlow(sb, item);
                sb.Append('\n');
            }
            else
            {
                WriteBlock(sb, item!, indent + 2, afterDash: true);
            }
        }
    }

    private static void WriteFlow(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                sb.Append('{');
                var firstKey = true;
                foreach (var (key, value) in Sorted(obj))
                {
                    if (!firstKey) sb.Append(", ");
                    firstKey = false;
                    sb.Append(Scalar(key, inFlow: true, simpleKey: true)).Append(": ");
                    WriteFlow(sb, value);
                }
                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    WriteFlow(sb, arr[i]);
                }
                sb.Append(']');
                break;
            default:
                sb.Append(ScalarNode(node, inFlow: false));
                break;
        }
    }

    private static string ScalarNode(JsonNode? node, bool inFlow)
    {
        if (node is null) return "null";
        var value = node.AsValue();
        switch (value.GetValueKind())
        {
            case JsonValueKind.True: return "true";
            case JsonValueKind.False: return "false";
            case JsonValueKind.Null: return "null";
            case JsonValueKind.Number: return Number(value);
            default: return Scalar(value.GetValue<string>(), inFlow, simpleKey: false);
        }
    }

    private static string Number(JsonValue value)
    {
        var text = PatroniJson.Serialize(value);
        if (!text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase)) return text;
        var d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (double.IsPositiveInfinity(d)) return ".inf";
        if (double.IsNegativeInfinity(d)) return "-.inf";
        // PyYAML: repr(float).lower(), with ".0" inserted before an exponent that has no dot (1e+16 → 1.0e+16).
        var repr = PythonRepr(d).ToLowerInvariant();
        if (!repr.Contains('.', StringComparison.Ordinal) && repr.Contains('e', StringComparison.Ordinal))
            repr = repr.Replace("e", ".0e", StringComparison.Ordinal);
        return repr;
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, <c>1.0</c>, <c>1e-05</c>.</summary>
    internal static string PythonRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0) return r.Contains('.', StringComparison.Ordinal) ? r : r + ".0";
        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent is >= -4 and < 16) return decimal.Parse(r, NumberStyles.Float, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) is var plain && plain.Contains('.', StringComparison.Ordinal) ? plain : plain + ".0";
        return r[..e] + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>A string scalar in the style PyYAML chooses: plain, single-quoted or double-quoted.</summary>
    internal static string Scalar(string text, bool inFlow, bool simpleKey)
    {
        var a = Analyze(text);
        var multiline = a.LineBreaks;
        if (ReadsBackAsString(text) && !(simpleKey && (text.Length == 0 || multiline))
            && (inFlow ? a.AllowFlowPlain : a.AllowBlockPlain))
            return text;
        if (a.AllowSingleQuoted && !multiline) return "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
        return DoubleQuoted(text);
    }

    private static bool ReadsBackAsString(string text)
    {
        if (text.Length == 0) return false;
        if (text is "<<" or "=") return false;
        if (Timestamp().IsMatch(text)) return false;
        return YamlTreeReader.ResolvePlain(new ConfigSource("ctl", 0, 0), text).Kind == ScalarKind.String;
    }

    [GeneratedRegex(@"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?\z")]
    private static partial Regex Timestamp();

    private readonly record struct Analysis(bool LineBreaks, bool AllowFlowPlain, bool AllowBlockPlain, bool AllowSingleQuoted);

    private static bool IsBreak(char c) => c is '\n' or '\x85' or '\u2028' or '\u2029';

    private static bool IsSpaceOrBreak(char c) => c is '\0' or ' ' or '\t' or '\r' || IsBreak(c);

    private static Analysis Analyze(string s)
    {
        if (s.Length == 0) return new Analysis(false, false, false, true);
        bool blockIndicators = false, flowIndicators = false, lineBreaks = false, special = false;
        bool leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false, breakSpace = false, spaceBreak = false;
        if (s.StartsWith("---", StringComparison.Ordinal) || s.StartsWith("...", StringComparison.Ordinal)) blockIndicators = flowIndicators = true;
        var precededByWhitespace = true;
        var followedByWhitespace = s.Length == 1 || IsSpaceOrBreak(s[1]);
        bool previousSpace = false, previousBreak = false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (i == 0)
            {
                if ("#,[]{}&*!|>'\"%@`".Contains(c, StringComparison.Ordinal)) flowIndicators = blockIndicators = true;
                if (c is '?' or ':')
                {
                    flowIndicators = true;
                    if (followedByWhitespace) blockIndicators = true;
                }
                if (c == '-' && followedByWhitespace) flowIndicators = blockIndicators = true;
            }
            else
            {
                if (",?[]{}".Contains(c, StringComparison.Ordinal)) flowIndicators = true;
                if (c == ':')
                {
                    flowIndicators = true;
                    if (followedByWhitespace) blockIndicators = true;
                }
                if (c == '#' && precededByWhitespace) flowIndicators = blockIndicators = true;
            }
            if (IsBreak(c)) lineBreaks = true;
            if (!(c == '\n' || (c >= ' ' && c <= '~')))
            {
                var printableUnicode = (c == '\x85' || (c >= '\xA0' && c <= '\uD7FF') || (c >= '\uE000' && c <= '\uFFFD') || char.IsSurrogate(c)) && c != '\uFEFF';
                if (!printableUnicode) special = true;
            }
            if (c == ' ')
            {
                if (i == 0) leadingSpace = true;
                if (i == s.Length - 1) trailingSpace = true;
                if (previousBreak) breakSpace = true;
                previousSpace = true;
                previousBreak = false;
            }
            else if (IsBreak(c))
            {
                if (i == 0) leadingBreak = true;
                if (i == s.Length - 1) trailingBreak = true;
                if (previousSpace) spaceBreak = true;
                previousSpace = false;
                previousBreak = true;
            }
            else
            {
                previousSpace = previousBreak = false;
            }
            precededByWhitespace = IsSpaceOrBreak(c);
            followedByWhitespace = i + 2 >= s.Length || IsSpaceOrBreak(s[i + 2]);
        }
        bool flowPlain = true, blockPlain = true, singleQuoted = true;
        if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) flowPlain = blockPlain = false;
        if (breakSpace) flowPlain = blockPlain = singleQuoted = false;
        if (spaceBreak || special) flowPlain = blockPlain = singleQuoted = false;
        if (lineBreaks) flowPlain = blockPlain = false;
        if (flowIndicators) flowPlain = false;
        if (blockIndicators) blockPlain = false;
        return new Analysis(lineBreaks, flowPlain, blockPlain, singleQuoted);
    }

    private static string DoubleQuoted(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '\0': sb.Append("\\0"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\v': sb.Append("\\v"); break;
                case '\f': sb.Append("\\f"); break;
                case '\r': sb.Append("\\r"); break;
                case '\x1B': sb.Append("\\e"); break;
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\x85': sb.Append("\\N"); break;
                case '\xA0': sb.Append("\\_"); break;
                case '\u2028': sb.Append("\\L"); break;
                case '\u2029': sb.Append("\\P"); break;
                default:
                    if (c < ' ' || (c > '~' && c < '\xA0') || c == '\uFEFF') sb.Append(c <= '\xFF' ? $"\\x{(int)c:X2}" : $"\\u{(int)c:X4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
