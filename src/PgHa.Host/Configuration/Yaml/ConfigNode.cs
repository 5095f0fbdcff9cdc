using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace PgHa.Host.Configuration.Yaml;

/// <summary>The kind of a scalar after YAML 1.1 (PyYAML <c>safe_load</c>) resolution.</summary>
internal enum ScalarKind
{
    Null,
    Bool,
    Int,
    Float,
    String,
}

/// <summary>
/// A node of the configuration tree, as PyYAML's <c>safe_load</c> would build it, with where each value came from.
/// Mutable while files and environment overrides are merged; read-only once bound.
/// </summary>
internal abstract class ConfigNode(ConfigSource source)
{
    public ConfigSource Source { get; set; } = source;

    /// <summary>What the node is, for messages ("a string", "a list", …). Never the value itself.</summary>
    public abstract string Describe();

    /// <summary>The node as JSON, the way Python's <c>json.dumps</c> sees the loaded value.</summary>
    public abstract JsonNode? ToJson();

    public abstract ConfigNode Clone();
}

internal sealed class ConfigScalar : ConfigNode
{
    public ConfigScalar(ConfigSource source, ScalarKind kind, string text, object? value) : base(source)
    {
        Kind = kind;
        Text = text;
        Value = value;
    }

    public ScalarKind Kind { get; }

    /// <summary>The scalar's text as written in the YAML (or the environment).</summary>
    public string Text { get; }

    /// <summary><c>bool</c>, <see cref="BigInteger"/>, <c>double</c>, <c>string</c> or null, per <see cref="Kind"/>.</summary>
    public object? Value { get; }

    public static ConfigScalar String(ConfigSource source, string text) => new(source, ScalarKind.String, text, text);

    public override string Describe() => Kind switch
    {
        ScalarKind.Null => "nothing (null)",
        ScalarKind.Bool => "a boolean",
        ScalarKind.Int => "an integer",
        ScalarKind.Float => "a number",
        _ => "a string",
    };

    public override JsonNode? ToJson() => Kind switch
    {
        ScalarKind.Null => null,
        ScalarKind.Bool => JsonValue.Create((bool)Value!),
        ScalarKind.Int => (BigInteger)Value! is var i && i >= long.MinValue && i <= long.MaxValue
            ? JsonValue.Create((long)i)
            : JsonNode.Parse(((BigInteger)Value!).ToString(CultureInfo.InvariantCulture)),
        ScalarKind.Float => JsonValue.Create((double)Value!),
        _ => JsonValue.Create((string)Value!),
    };

    /// <summary>Python's <c>str()</c> of the value (<c>True</c>, <c>10</c>, <c>1.5</c>, the string itself).</summary>
    public string PythonStr() => Kind switch
    {
        ScalarKind.Null => "None",
        ScalarKind.Bool => (bool)Value! ? "True" : "False",
        ScalarKind.Int => ((BigInteger)Value!).ToString(CultureInfo.InvariantCulture),
        ScalarKind.Float => Cluster.Serialization.PatroniJson.Serialize(JsonValue.Create((double)Value!)),
        _ => (string)Value!,
    };

    public override ConfigNode Clone() => new ConfigScalar(Source, Kind, Text, Value);
}

internal sealed class ConfigList(ConfigSource source) : ConfigNode(source)
{
    public List<ConfigNode> Items { get; } = [];

    public override string Describe() => "a list";

    public override JsonNode? ToJson()
    {
        var arr = new JsonArray();
        foreach (var item in Items) arr.Add(item.ToJson());
        return arr;
    }

    public override ConfigNode Clone()
    {
        var copy = new ConfigList(Source);
        foreach (var item in Items) copy.Items.Add(item.Clone());
        return copy;
    }
}

/// <summary>One key of a mapping: its name (Python's <c>str</c> of the YAML key) and where the key was written.</summary>
internal sealed record ConfigEntry(string Key, ConfigSource KeySource, ConfigNode Value);

internal sealed class ConfigMap(ConfigSource source) : ConfigNode(source)
{
    /// <summary>Entries in insertion order; a repeated key replaces the value at the first position (Python dict).</summary>
    public List<ConfigEntry> Entries { get; } = [];

    public ConfigEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key == key);

    public ConfigNode? this[string key] => Find(key)?.Value;

    public void Set(string key, ConfigSource keySource, ConfigNode value)
    {
        var i = Entries.FindIndex(e => e.Key == key);
        if (i >= 0) Entries[i] = new ConfigEntry(key, keySource, value);
        else Entries.Add(new ConfigEntry(key, keySource, value));
    }

    public bool Remove(string key) => Entries.RemoveAll(e => e.Key == key) > 0;

    /// <summary>The map at <paramref name="key"/>, created (with the given source) when absent or not a map.</summary>
    public ConfigMap GetOrAddMap(string key, ConfigSource source)
    {
        if (this[key] is ConfigMap existing) return existing;
        var map = new ConfigMap(source);
        Set(key, source, map);
        return map;
    }

    public override string Describe() => "a mapping";

    public override JsonNode? ToJson()
    {
        var obj = new JsonObject();
        foreach (var e in Entries) obj[e.Key] = e.Value.ToJson();
        return obj;
    }

    public override ConfigNode Clone()
    {
        var copy = new ConfigMap(Source);
        foreach (var e in Entries) copy.Entries.Add(e with { Value = e.Value.Clone() });
        return copy;
    }
}
