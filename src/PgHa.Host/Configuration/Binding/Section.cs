using System.Collections.Immutable;
using System.Globalization;
using System.Numerics;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Configuration.Binding;

/// <summary>Collects every problem found while binding, so all of them are reported together.</summary>
internal sealed class Problems
{
    public List<ConfigError> Errors { get; } = [];
    public List<ConfigError> Warnings { get; } = [];

    public void Error(string path, string problem, ConfigSource? source) => Errors.Add(new ConfigError(path, problem, source));
    public void Warn(string path, string problem, ConfigSource? source) => Warnings.Add(new ConfigError(path, problem, source));
}

/// <summary>
/// Reads one mapping of the configuration. Every accessor registers its key as known; <see cref="Finish"/> reports
/// the keys nobody asked for, with a suggestion. Values never appear in messages for secrets.
/// </summary>
internal sealed class Section
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _unsupported = new(StringComparer.Ordinal);
    private readonly ConfigMap? _map;

    public Section(Problems problems, string path, ConfigMap? map, ConfigSource? source)
    {
        Problems = problems;
        PathPrefix = path;
        _map = map;
        Source = source ?? map?.Source;
    }

    public Problems Problems { get; }
    public string PathPrefix { get; }
    public ConfigSource? Source { get; }
    public bool Exists => _map is not null;
    public ConfigMap? Map => _map;

    public string PathOf(string key) => PathPrefix.Length == 0 ? key : PathPrefix + "." + key;

    public IEnumerable<ConfigEntry> Entries => _map?.Entries ?? [];

    /// <summary>
    /// Creates the section at <paramref name="path"/> for a node that should be a mapping (null → absent).
    /// <paramref name="keySource"/> (where the section's key was written) is where problems of the whole section point.
    /// </summary>
    public static Section Of(Problems problems, string path, ConfigNode? node, ConfigSource? keySource)
    {
        switch (node)
        {
            case null:
            case ConfigScalar { Kind: ScalarKind.Null }:
                return new Section(problems, path, null, keySource ?? node?.Source);
            case ConfigMap map:
                return new Section(problems, path, map, keySource ?? map.Source);
            default:
                problems.Error(path, $"expected a mapping of settings, found {Found(node, false)}", node.Source);
                return new Section(problems, path, null, node.Source);
        }
    }

    /// <summary>The entry for <paramref name="key"/> (a null value counts as absent), registering the key as known.</summary>
    public ConfigEntry? Take(string key)
    {
        _known.Add(key);
        var e = _map?.Find(key);
        return e is null || e.Value is ConfigScalar { Kind: ScalarKind.Null } ? null : e;
    }

    public bool Has(string key) => Take(key) is not null;

    /// <summary>True when <paramref name="key"/> was read (or allowed) already.</summary>
    public bool IsKnown(string key) => _known.Contains(key);

    /// <summary>Marks keys as known without reading them.</summary>
    public void Allow(params string[] keys)
    {
        foreach (var k in keys) _known.Add(k);
    }

    /// <summary>Keys Patroni knows that PgHa does not implement: present → an error naming them.</summary>
    public void Unsupported(string reason, params string[] keys)
    {
        foreach (var k in keys)
        {
            _known.Add(k);
            _unsupported[k] = reason;
        }
    }

    public Section Child(string key)
    {
        var e = Take(key);
        return Of(Problems, PathOf(key), e?.Value, e?.KeySource ?? Source);
    }

    public void Error(string key, string problem, ConfigSource? source) => Problems.Error(PathOf(key), problem, source);
    public void Warn(string key, string problem, ConfigSource? source) => Problems.Warn(PathOf(key), problem, source);

    public void Missing(string key) => Problems.Error(PathOf(key), "required setting is missing", Source);

    /// <summary>Describes a node for an error: <c>'text'</c> for a scalar (or its type for a secret), else its kind.</summary>
    public static string Found(ConfigNode node, bool secret) => node switch
    {
        ConfigScalar s when !secret && s.Kind != ScalarKind.Null => $"'{Shorten(s.Text)}'",
        _ => node.Describe(),
    };

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    // ---- scalars ---------------------------------------------------------------------------------------------------

    public string? String(string key, bool required = false) => StringOf(Take(key), key, required, secret: false);

    public Secret? Secret(string key, bool required = false) => StringOf(Take(key), key, required, secret: true) is { } s ? new Secret(s) : null;

    private string? StringOf(ConfigEntry? e, string key, bool required, bool secret)
    {
        if (e is null)
        {
            if (required) Missing(key);
            return null;
        }
        return AsString(e.Value, PathOf(key), secret);
    }

    /// <summary>A string value; integers and numbers are accepted as their text (<c>password: 12345</c>).</summary>
    public string? AsString(ConfigNode node, string path, bool secret = false)
    {
        switch (node)
        {
            case ConfigScalar { Kind: ScalarKind.String } s:
                return (string)s.Value!;
            case ConfigScalar { Kind: ScalarKind.Int or ScalarKind.Float } s:
                return s.Text;
            case ConfigScalar { Kind: ScalarKind.Bool }:
                Problems.Error(path, $"expected a string, found a boolean{(secret ? "" : $" ({Found(node, false)})")}; quote the value", node.Source);
                return null;
            default:
                Problems.Error(path, $"expected a string, found {Found(node, secret)}", node.Source);
                return null;
        }
    }

    public bool? Bool(string key)
    {
        var e = Take(key);
        return e is null ? null : AsBool(e.Value, PathOf(key));
    }

    public bool Bool(string key, bool fallback) => Bool(key) ?? fallback;

    /// <summary>Patroni's <c>parse_bool</c>: booleans, and on/off, true/false, yes/no, 1/0 as text or integer.</summary>
    public bool? AsBool(ConfigNode node, string path)
    {
        if (node is ConfigScalar { Kind: ScalarKind.Bool } b) return (bool)b.Value!;
        if (node is ConfigScalar { Kind: ScalarKind.String or ScalarKind.Int } s)
        {
            switch (s.Text.ToLowerInvariant())
            {
                case "on" or "true" or "yes" or "1": return true;
                case "off" or "false" or "no" or "0": return false;
            }
        }
        Problems.Error(path, $"expected true or false, found {Found(node, false)}", node.Source);
        return null;
    }

    public long? Int(string key, long min = long.MinValue, long max = long.MaxValue, bool required = false)
    {
        var e = Take(key);
        if (e is null)
        {
            if (required) Missing(key);
            return null;
        }
        return AsInt(e.Value, PathOf(key), min, max);
    }

    public long? AsInt(ConfigNode node, string path, long min = long.MinValue, long max = long.MaxValue)
    {
        BigInteger? value = node switch
        {
            ConfigScalar { Kind: ScalarKind.Int } i => (BigInteger)i.Value!,
            ConfigScalar { Kind: ScalarKind.String } s when BigInteger.TryParse(s.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var p) => p,
            _ => null,
        };
        if (value is null)
        {
            Problems.Error(path, $"expected an integer, found {Found(node, false)}", node.Source);
            return null;
        }
        if (value < min || value > max)
        {
            var range = min <= int.MinValue ? $"at most {max}"
                : max >= int.MaxValue ? (min == 0 ? "0 or more" : min == 1 ? "positive" : $"at least {min}")
                : $"between {min} and {max}";
            Problems.Error(path, $"must be {range}, found {value}", node.Source);
            return null;
        }
        return (long)value.Value;
    }

    public double? Number(string key, double min = double.MinValue, double max = double.MaxValue)
    {
        var e = Take(key);
        if (e is null) return null;
        var node = e.Value;
        double? value = node switch
        {
            ConfigScalar { Kind: ScalarKind.Int } i => (double)(BigInteger)i.Value!,
            ConfigScalar { Kind: ScalarKind.Float } f => (double)f.Value!,
            ConfigScalar { Kind: ScalarKind.String } s when double.TryParse(s.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p,
            _ => null,
        };
        if (value is null || !double.IsFinite(value.Value))
        {
            Error(key, $"expected a number, found {Found(node, false)}", node.Source);
            return null;
        }
        if (value < min || value > max)
        {
            Error(key, $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, found {value.Value.ToString(CultureInfo.InvariantCulture)}", node.Source);
            return null;
        }
        return value;
    }

    /// <summary>One of <paramref name="allowed"/> (case-insensitive), returned as written in <paramref name="allowed"/>.</summary>
    public string? Choice(string key, params string[] allowed)
    {
        var e = Take(key);
        if (e is null) return null;
        var text = e.Value is ConfigScalar { Kind: not ScalarKind.Null } s ? s.Text : null;
        var match = text is null ? null : allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
            Error(key, $"must be one of {string.Join(", ", allowed)}; found {Found(e.Value, false)}", e.Value.Source);
        return match;
    }

    public HostPort? HostPort(string key, bool required = false, bool multipleHosts = false, int? defaultPort = null, bool anyHost = false)
    {
        var e = Take(key);
        if (e is null)
        {
            if (required) Missing(key);
            return null;
        }
        var text = AsString(e.Value, PathOf(key));
        if (text is null) return null;
        var hp = Configuration.HostPort.TryParse(text, multipleHosts, defaultPort, anyHost);
        if (hp is null)
            Error(key, $"'{text}' is not host:port{(multipleHosts ? " (host may be a comma-separated list)" : "")}", e.Value.Source);
        return hp;
    }

    // ---- collections -----------------------------------------------------------------------------------------------

    /// <summary>A list of strings; with <paramref name="commaString"/> a single comma-separated string is accepted too.</summary>
    public ImmutableArray<string> StringList(string key, bool commaString = false)
    {
        var e = Take(key);
        if (e is null) return [];
        return AsStringList(e.Value, PathOf(key), commaString);
    }

    public ImmutableArray<string> AsStringList(ConfigNode node, string path, bool commaString)
    {
        if (node is ConfigList list)
        {
            var result = ImmutableArray.CreateBuilder<string>();
            for (var i = 0; i < list.Items.Count; i++)
                if (AsString(list.Items[i], $"{path}[{i}]") is { } s) result.Add(s);
            return result.ToImmutable();
        }
        if (commaString && node is ConfigScalar { Kind: ScalarKind.String } str)
            return [.. ((string)str.Value!).Split(',').Select(x => x.Trim()).Where(x => x.Length > 0)];
        Problems.Error(path, $"expected a list{(commaString ? " (or a comma-separated string)" : "")}, found {Found(node, false)}", node.Source);
        return [];
    }

    /// <summary>A mapping of names to strings (headers, callbacks, loggers).</summary>
    public OrderedMap<string> StringMap(string key)
    {
        var child = Child(key);
        var entries = new List<KeyValuePair<string, string>>();
        foreach (var e in child.Entries)
        {
            if (e.Value is ConfigScalar { Kind: ScalarKind.Null }) continue;
            if (child.AsString(e.Value, child.PathOf(e.Key)) is { } s) entries.Add(new(e.Key, s));
        }
        return new OrderedMap<string>(entries);
    }

    /// <summary>A mapping of names to typed scalars (PostgreSQL parameters, recovery settings).</summary>
    public OrderedMap<ScalarValue> ScalarMap(string key)
    {
        var child = Child(key);
        var entries = new List<KeyValuePair<string, ScalarValue>>();
        foreach (var e in child.Entries)
        {
            if (ToScalarValue(e.Value) is { } v) entries.Add(new(e.Key, v));
            else Problems.Error(child.PathOf(e.Key), $"expected a single value (string, number or boolean), found {Found(e.Value, false)}", e.Value.Source);
        }
        return new OrderedMap<ScalarValue>(entries);
    }

    public static ScalarValue? ToScalarValue(ConfigNode node)
    {
        if (node is not ConfigScalar s) return null;
        var json = Cluster.Serialization.PatroniJson.Serialize(s.ToJson());
        return s.Kind switch
        {
            ScalarKind.Null => new ScalarValue(ScalarValueKind.Null, "", "null"),
            ScalarKind.Bool => new ScalarValue(ScalarValueKind.Boolean, (bool)s.Value! ? "true" : "false", json),
            ScalarKind.Int => new ScalarValue(ScalarValueKind.Integer, ((BigInteger)s.Value!).ToString(CultureInfo.InvariantCulture), json),
            ScalarKind.Float => new ScalarValue(ScalarValueKind.Float, json, json),
            _ => new ScalarValue(ScalarValueKind.String, (string)s.Value!, json),
        };
    }

    // ---- unknown keys ----------------------------------------------------------------------------------------------

    /// <summary>Reports every key that no accessor asked for, and every unsupported key that is present.</summary>
    public void Finish()
    {
        if (_map is null) return;
        foreach (var e in _map.Entries)
        {
            if (_unsupported.TryGetValue(e.Key, out var reason))
            {
                Problems.Error(PathOf(e.Key), $"not supported by PgHa{(reason.Length > 0 ? $" ({reason})" : "")}", e.KeySource);
                continue;
            }
            if (_known.Contains(e.Key)) continue;
            var suggestion = Suggest(e.Key, _known.Except(_unsupported.Keys));
            Problems.Error(PathOf(e.Key), "unknown setting" + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"), e.KeySource);
        }
    }

    public static string? Suggest(string key, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates.OrderBy(c => c, StringComparer.Ordinal))
        {
            var d = Distance(key.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }
        var allowed = Math.Max(1, Math.Min(3, key.Length / 3));
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>Optimal string alignment distance (Levenshtein with adjacent transpositions).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
