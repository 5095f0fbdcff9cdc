using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Configuration.Loading;

/// <summary>Patroni's <c>patch_config</c>: merges one configuration tree into another.</summary>
internal static class ConfigMerge
{
    /// <summary>
    /// Patches <paramref name="target"/> with <paramref name="data"/>: a null value removes the key, two mappings merge
    /// recursively, anything else replaces the value (keeping the key's position, as a Python dict does).
    /// </summary>
    public static void Patch(ConfigMap target, ConfigMap data)
    {
        foreach (var e in data.Entries)
        {
            if (e.Value is ConfigScalar { Kind: ScalarKind.Null })
            {
                target.Remove(e.Key);
                continue;
            }
            if (e.Value is ConfigMap incoming && target[e.Key] is ConfigMap existing)
            {
                Patch(existing, incoming);
                continue;
            }
            target.Set(e.Key, e.KeySource, e.Value.Clone());
        }
    }
}
