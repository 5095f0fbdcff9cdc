using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Postgres;

namespace PgHa.Operations;

/// <summary>
/// The PostgreSQL parameters a node runs with: the cluster-wide <c>postgresql.parameters</c> from the <c>config</c>
/// key, overlaid by the node's own ones (which never include the settings that must match on every member).
/// </summary>
public static class DynamicParameters
{
    /// <summary>
    /// Merges <paramref name="config"/>'s <c>postgresql.parameters</c> with <paramref name="local"/>. Values are written
    /// as PostgreSQL reads them (<c>true</c> → <c>on</c>); names PgHa sets itself, invalid names and non-scalar values
    /// are left out and reported in <paramref name="ignored"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Merge(GlobalConfig config, IReadOnlyDictionary<string, string> local, List<string> ignored)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(local);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (PatroniJson.TryParse(config.RawJson, out _) is JsonObject root && root["postgresql"] is JsonObject pg && pg["parameters"] is JsonObject parameters)
        {
            foreach (var (name, node) in parameters)
            {
                if (!PostgresConfigFiles.IsValidParameterName(name) || PostgresControllerOptionsValidator.ReservedParameters.Contains(name))
                {
                    ignored.Add($"{name}: set by PgHa itself or not a parameter name");
                    continue;
                }
                if (node is null) continue;
                if (ToPostgresValue(node) is { } value) result[name] = value;
                else ignored.Add($"{name}: {node.GetValueKind().ToString().ToLowerInvariant()} is not a parameter value");
            }
        }
        foreach (var (name, value) in local) result[name] = value;
        return result;
    }

    private static string? ToPostgresValue(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>(),
        JsonValueKind.True => "on",
        JsonValueKind.False => "off",
        JsonValueKind.Number => node.ToJsonString(),
        _ => null,
    };

    /// <summary>Patroni's <c>postgres_version_to_int</c>: <c>15.4</c> → 150004, <c>9.6.3</c> → 90603; false when not a version.</summary>
    public static bool TryParsePostgresVersion(string text, out int versionNum)
    {
        versionNum = 0;
        var parts = text.Split('.');
        if (parts.Length is < 2 or > 3) return false;
        var numbers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]) || numbers[i] > 99) return false;
        if (numbers[0] < 10 && parts.Length != 3) return false; // 9.6 needs its minor: 9.6.3
        if (numbers[0] >= 10 && parts.Length != 2) return false;
        versionNum = numbers[0] >= 10 ? numbers[0] * 10000 + numbers[1] : numbers[0] * 10000 + numbers[1] * 100 + numbers[2];
        return true;
    }
}
