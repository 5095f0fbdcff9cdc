using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace PgHa.Cluster.Serialization;

/// <summary>Reads and writes the <c>sync</c> key.</summary>
public static class SyncCodec
{
    /// <summary>Parses <c>{"leader":…,"sync_standby":"a,b"|null[,"quorum":n]}</c>.</summary>
    public static SyncState Parse(string value, DcsVersion version, List<DcsDataProblem> problems)
    {
        var read = new JsonRead(ClusterKeys.Sync, problems);
        var node = PatroniJson.TryParse(value, out var error);
        if (node is not JsonObject obj)
        {
            read.Problem($"{PatroniJson.DescribeUnexpected(node, error, "a JSON object")}; ignored");
            return SyncState.Empty with { Version = version, RawJson = value };
        }
        var standbys = read.String(obj, "sync_standby") is { } s
            ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToImmutableArray()
            : ImmutableArray<string>.Empty;
        return new SyncState(read.String(obj, "leader"), standbys, read.Int(obj, "quorum"), version, value);
    }

    /// <summary>
    /// Serializes with standbys sorted and comma-joined, <c>null</c> when none. When <see cref="SyncState.RawJson"/> is
    /// a JSON object with the same content, it is returned byte for byte.
    /// </summary>
    public static string Serialize(SyncState state)
    {
        if (state.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject && Parse(raw, state.Version, []).Equals(state))
            return raw;
        var obj = new JsonObject
        {
            ["leader"] = state.Leader,
            ["sync_standby"] = state.SyncStandbys.IsDefaultOrEmpty ? null : string.Join(',', state.SyncStandbys.Order(StringComparer.Ordinal)),
        };
        if (state.Quorum is { } q) obj["quorum"] = q;
        return PatroniJson.Serialize(obj);
    }
}
