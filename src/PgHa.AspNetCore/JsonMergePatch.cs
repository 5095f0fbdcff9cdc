using System.Text.Json.Nodes;
using PgHa.Cluster.Serialization;

namespace PgHa.AspNetCore;

/// <summary>
/// <c>PATCH /config</c>'s merge (Patroni's <c>patch_config</c>): objects merge recursively, <c>null</c> removes a key,
/// anything else replaces. A scalar counts as changed only when its text differs, as Patroni compares <c>str()</c>s.
/// </summary>
public static class JsonMergePatch
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/> in place; true when something changed.</summary>
    public static bool Apply(JsonObject target, JsonObject patch)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(patch);
        var changed = false;
        foreach (var (name, value) in patch.ToList())
        {
            if (value is null)
            {
                if (target.TryGetPropertyValue(name, out var old) && old is not null) changed = true;
                target.Remove(name);
            }
            else if (target.TryGetPropertyValue(name, out var existing) && existing is not null)
            {
                if (value is JsonObject patchObject && existing is JsonObject existingObject)
                    changed |= Apply(existingObject, patchObject);
                else if (value is JsonObject || !SameText(existing, value))
                {
                    target[name] = value.DeepClone();
                    changed = true;
                }
            }
            else
            {
                target[name] = value.DeepClone();
                changed = true;
            }
        }
        return changed;
    }

    private static bool SameText(JsonNode a, JsonNode b) => PatroniJson.Serialize(a) == PatroniJson.Serialize(b);
}
