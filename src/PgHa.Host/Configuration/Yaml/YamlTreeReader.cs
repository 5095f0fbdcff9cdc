using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PgHa.Host.Configuration.Yaml;

/// <summary>
/// Reads YAML into a <see cref="ConfigNode"/> tree exactly as Patroni's <c>yaml.safe_load</c> (PyYAML, YAML 1.1) would:
/// <c>off</c>/<c>yes</c> are booleans, <c>010</c> is octal, <c>1:30</c> is sexagesimal, <c>&lt;&lt;</c> merges, a
/// repeated key keeps the last value, explicit tags (<c>!!str</c>) win. Quoted scalars are always strings.
/// </summary>
internal static partial class YamlTreeReader
{
    /// <summary>Parses one YAML document. Returns null for an empty document; a syntax problem is returned in <paramref name="error"/>.</summary>
    public static ConfigNode? Read(string text, string origin, out ConfigError? error)
    {
        error = null;
        Reader? reader = null;
        try
        {
            var parser = new Parser(new StringReader(text));
            reader = new Reader(parser, origin);
            return reader.ReadStream();
        }
        catch (YamlException ex)
        {
            var source = new ConfigSource(origin, (int)ex.Start.Line, (int)ex.Start.Column);
            error = new ConfigError("", $"YAML syntax error at line {ex.Start.Line}, column {ex.Start.Column}: {StripMarks(ex.Message)}", source);
            return null;
        }
        catch (ConfigYamlException ex)
        {
            error = new ConfigError("", ex.Message, ex.Where);
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // YamlDotNet's scanner occasionally fails this way on broken input instead of raising a YamlException.
            var line = reader?.LastMark.Line ?? 1;
            var column = reader?.LastMark.Column ?? 1;
            error = new ConfigError("", $"YAML syntax error after line {line}, column {column}: the document is malformed there", new ConfigSource(origin, (int)line, (int)column));
            return null;
        }
    }

    private static string StripMarks(string message) => MarkPrefix().Replace(message, "");

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex MarkPrefix();

    private sealed class ConfigYamlException(ConfigSource source, string message) : Exception(message)
    {
        public ConfigSource Where { get; } = source;
    }

    private sealed class Reader(IParser parser, string origin)
    {
        private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);
        private int _depth;

        private ConfigSource At(Mark mark) => new(origin, (int)mark.Line, (int)mark.Column);

        /// <summary>The end of the last event read, where a parser failure is reported.</summary>
        public Mark LastMark => parser.Current?.End ?? Mark.Empty;

        public ConfigNode? ReadStream()
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _)) return null;
            parser.Consume<DocumentStart>();
            var root = ReadNode();
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
                throw new ConfigYamlException(At(second.Start), "expected a single YAML document, found another one (---)");
            parser.Consume<StreamEnd>();
            return root is ConfigScalar { Kind: ScalarKind.Null } ? null : root;
        }

        private ConfigNode ReadNode()
        {
            if (++_depth > 64) throw new ConfigYamlException(At(parser.Current!.Start), "nesting deeper than 64 levels");
            try
            {
                var ev = parser.Current!;
                switch (ev)
                {
                    case AnchorAlias alias:
                        parser.MoveNext();
                        if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                            throw new ConfigYamlException(At(alias.Start), $"unknown alias '*{alias.Value.Value}'");
                        return target.Clone();
                    case Scalar scalar:
                        parser.MoveNext();
                        return Remember(scalar.Anchor, Resolve(scalar));
                    case SequenceStart seq:
                    {
                        parser.MoveNext();
                        var list = new ConfigList(At(seq.Start));
                        while (!parser.Accept<SequenceEnd>(out _)) list.Items.Add(ReadNode());
                        parser.MoveNext();
                        return Remember(seq.Anchor, list);
                    }
                    case MappingStart mapStart:
                    {
                        parser.MoveNext();
                        var map = new ConfigMap(At(mapStart.Start));
                        var own = new List<ConfigEntry>();
                        var merges = new List<ConfigMap>();
                        while (!parser.Accept<MappingEnd>(out _))
                        {
                            var keyStart = parser.Current!.Start;
                            var keyEvent = parser.Current as Scalar;
                            var key = ReadNode();
                            var value = ReadNode();
                            if (keyEvent is { Value: "<<", Style: ScalarStyle.Plain } && keyEvent.Tag.IsEmpty)
                            {
                                CollectMerge(value, merges);
                                continue;
                            }
                            if (key is not ConfigScalar keyScalar)
                                throw new ConfigYamlException(At(keyStart), $"a mapping key must be a scalar, found {key.Describe()}");
                            own.Add(new ConfigEntry(KeyText(keyScalar), At(keyStart), value));
                        }
                        parser.MoveNext();
                        // PyYAML puts merged keys first (the first merge source winning), then the mapping's own keys.
                        for (var i = merges.Count - 1; i >= 0; i--)
                            foreach (var e in merges[i].Entries) map.Set(e.Key, e.KeySource, e.Value.Clone());
                        foreach (var e in own) map.Set(e.Key, e.KeySource, e.Value);
                        return Remember(mapStart.Anchor, map);
                    }
                    default:
                        throw new ConfigYamlException(At(ev.Start), $"unexpected YAML event {ev.GetType().Name}");
                }
            }
            finally
            {
                _depth--;
            }
        }

        private void CollectMerge(ConfigNode value, List<ConfigMap> merges)
        {
            switch (value)
            {
                case ConfigMap m:
                    merges.Add(m);
                    break;
                case ConfigList l when l.Items.All(i => i is ConfigMap):
                    merges.AddRange(l.Items.Cast<ConfigMap>());
                    break;
                default:
                    throw new ConfigYamlException(value.Source, $"a merge key (<<) needs a mapping or a list of mappings, found {value.Describe()}");
            }
        }

        private ConfigNode Remember(AnchorName anchor, ConfigNode node)
        {
            if (!anchor.IsEmpty) _anchors[anchor.Value] = node;
            return node;
        }

        private ConfigScalar Resolve(Scalar scalar)
        {
            var source = At(scalar.Start);
            var text = scalar.Value;
            if (!scalar.Tag.IsEmpty && scalar.Tag.Value != "!")
            {
                var tag = scalar.Tag.Value;
                var resolved = tag switch
                {
                    "tag:yaml.org,2002:str" => ConfigScalar.String(source, text),
                    "tag:yaml.org,2002:null" => new ConfigScalar(source, ScalarKind.Null, text, null),
                    "tag:yaml.org,2002:bool" => TryBool(source, text),
                    "tag:yaml.org,2002:int" => TryInt(source, text),
                    "tag:yaml.org,2002:float" => TryFloat(source, text),
                    _ => throw new ConfigYamlException(source, $"unsupported YAML tag '{tag}'"),
                };
                return resolved ?? throw new ConfigYamlException(source, $"the value cannot be read as {tag}");
            }
            if (scalar.Style != ScalarStyle.Plain || !scalar.Tag.IsEmpty) return ConfigScalar.String(source, text);
            return ResolvePlain(source, text);
        }

        private static string KeyText(ConfigScalar key) => key.Kind switch
        {
            // json.dumps turns non-string keys into their JSON text: True → "true", None → "null", 1 → "1".
            ScalarKind.Bool => (bool)key.Value! ? "true" : "false",
            ScalarKind.Null => "null",
            ScalarKind.Int => ((BigInteger)key.Value!).ToString(CultureInfo.InvariantCulture),
            ScalarKind.Float => key.PythonStr(),
            _ => (string)key.Value!,
        };
    }

    /// <summary>PyYAML's implicit resolvers for a plain scalar.</summary>
    public static ConfigScalar ResolvePlain(ConfigSource source, string text)
    {
        if (text.Length == 0 || text is "~" or "null" or "Null" or "NULL") return new ConfigScalar(source, ScalarKind.Null, text, null);
        return TryBool(source, text) ?? TryInt(source, text) ?? TryFloat(source, text) ?? ConfigScalar.String(source, text);
    }

    private static ConfigScalar? TryBool(ConfigSource source, string text) => text switch
    {
        "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON" => new ConfigScalar(source, ScalarKind.Bool, text, true),
        "no" or "No" or "NO" or "false" or "False" or "FALSE" or "off" or "Off" or "OFF" => new ConfigScalar(source, ScalarKind.Bool, text, false),
        _ => null,
    };

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex FloatPattern();

    private static ConfigScalar? TryInt(ConfigSource source, string text)
    {
        if (!IntPattern().IsMatch(text)) return null;
        var v = text.Replace("_", "", StringComparison.Ordinal);
        var sign = BigInteger.One;
        if (v[0] == '-') sign = BigInteger.MinusOne;
        if (v[0] is '+' or '-') v = v[1..];
        BigInteger value;
        if (v == "0") value = BigInteger.Zero;
        else if (v.StartsWith("0b", StringComparison.Ordinal)) value = ParseBase(v[2..], 2);
        else if (v.StartsWith("0x", StringComparison.Ordinal)) value = ParseBase(v[2..], 16);
        else if (v[0] == '0') value = ParseBase(v, 8);
        else if (v.Contains(':', StringComparison.Ordinal))
        {
            value = BigInteger.Zero;
            foreach (var part in v.Split(':')) value = value * 60 + BigInteger.Parse(part, CultureInfo.InvariantCulture);
        }
        else value = BigInteger.Parse(v, CultureInfo.InvariantCulture);
        return new ConfigScalar(source, ScalarKind.Int, text, sign * value);
    }

    private static BigInteger ParseBase(string digits, int radix)
    {
        var value = BigInteger.Zero;
        foreach (var c in digits) value = value * radix + Convert.ToInt32(c.ToString(), 16);
        return value;
    }

    private static ConfigScalar? TryFloat(ConfigSource source, string text)
    {
        if (!FloatPattern().IsMatch(text)) return null;
        var v = text.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        var sign = 1.0;
        if (v[0] == '-') sign = -1.0;
        if (v[0] is '+' or '-') v = v[1..];
        double value;
        if (v == ".inf") value = double.PositiveInfinity;
        else if (v == ".nan") value = double.NaN;
        else if (v.Contains(':', StringComparison.Ordinal))
        {
            value = 0;
            foreach (var part in v.Split(':')) value = value * 60 + double.Parse(part, CultureInfo.InvariantCulture);
        }
        else value = double.Parse(v.EndsWith('.') ? v + "0" : v, CultureInfo.InvariantCulture);
        return new ConfigScalar(source, ScalarKind.Float, text, sign * value);
    }
}
