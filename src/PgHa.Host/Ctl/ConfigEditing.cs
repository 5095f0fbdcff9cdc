using System.Text.Json.Nodes;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Ctl;

/// <summary>
/// The edits of <c>edit-config</c>, as patronictl makes them: <c>-s a.b=value</c> pairs (values read as YAML, an empty
/// value removes the key, names under <c>postgresql.parameters</c> may contain dots), and YAML files merged the way
/// Patroni's <c>patch_config</c> merges (<c>null</c> removes, mappings merge, anything else replaces).
/// </summary>
public static class ConfigEditing
{
    /// <summary>Parses YAML text as PyYAML's <c>safe_load</c> would; null for an empty document.</summary>
    public static JsonNode? ParseYaml(string text, string origin)
    {
        var node = YamlTreeReader.Read(text, origin, out var error);
        if (error is not null) throw new CtlException($"{origin} is not valid YAML: {error.Message}");
        return node?.ToJson();
    }

    /// <summary>Applies <c>key.path=value</c> pairs to a copy of <paramref name="data"/>.</summary>
    public static JsonObject ApplyPairs(JsonObject data, IEnumerable<string> pairs)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(pairs);
        var changed = (JsonObject)data.DeepClone();
        foreach (var pair in pairs)
        {
            var eq = pair?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (string.IsNullOrEmpty(pair) || eq < 0) throw new CtlException($"Invalid parameter setting {pair}; use KEY=VALUE, e.g. -s loop_wait=5 or -p max_connections=200");
            var value = ParseYaml(pair[(eq + 1)..], $"the value of '{pair}'");
            SetPath(changed, pair[..eq].Trim().Split('.'), value, []);
        }
        return changed;
    }

    private static void SetPath(JsonObject config, string[] path, JsonNode? value, string[] prefix)
    {
        // PostgreSQL parameter names can contain dots (e.g. pg_stat_statements.max): below postgresql.parameters the rest is one key.
        if (prefix is ["postgresql", "parameters"]) path = [string.Join('.', path)];
        var key = path[0];
        if (path.Length == 1)
        {
            if (value is null) config.Remove(key);
            else config[key] = value;
            return;
        }
        if (config[key] is not JsonObject child)
        {
            child = [];
            config[key] = child;
        }
        SetPath(child, path[1..], value, [.. prefix, key]);
        if (child.Count == 0) config.Remove(key);
    }

    /// <summary>Merges <paramref name="patch"/> into a copy of <paramref name="data"/> (Patroni's <c>patch_config</c>).</summary>
    public static JsonObject ApplyPatch(JsonObject data, JsonObject patch)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(patch);
        var changed = (JsonObject)data.DeepClone();
        Patch(changed, patch);
        return changed;
    }

    private static void Patch(JsonObject config, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null) config.Remove(name);
            else if (value is JsonObject sub && config[name] is JsonObject existing) Patch(existing, sub);
            else config[name] = value.DeepClone();
        }
    }
}
