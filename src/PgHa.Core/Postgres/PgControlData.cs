using System.Globalization;
using PgHa.Decisions;

namespace PgHa.Postgres;

/// <summary>The fields of <c>pg_controldata</c> output the controller needs (run with LC_ALL=C).</summary>
internal sealed class PgControlData
{
    private readonly Dictionary<string, string> _fields;

    private PgControlData(Dictionary<string, string> fields) => _fields = fields;

    /// <summary>Parses <c>name: value</c> lines.</summary>
    public static PgControlData Parse(string output)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            fields[raw[..colon].Trim()] = raw[(colon + 1)..].Trim();
        }
        return new PgControlData(fields);
    }

    /// <summary>A field's value, or null.</summary>
    public string? this[string name] => _fields.TryGetValue(name, out var v) ? v : null;

    /// <summary>"Database system identifier".</summary>
    public string? SystemId => this["Database system identifier"];

    /// <summary>"Database cluster state": <c>in production</c>, <c>shut down</c>, <c>shut down in recovery</c>, …</summary>
    public string? ClusterState => this["Database cluster state"];

    /// <summary>
    /// The role pg_control records: out of recovery (<c>in production</c>, <c>shut down</c>, <c>in crash recovery</c>,
    /// <c>shutting down</c>) is a primary; <c>in archive recovery</c> / <c>shut down in recovery</c> a replica.
    /// </summary>
    public PostgresRole Role => ClusterState switch
    {
        "in production" or "shut down" or "in crash recovery" or "shutting down" => PostgresRole.Primary,
        "in archive recovery" or "shut down in recovery" => PostgresRole.Replica,
        _ => PostgresRole.Unknown,
    };

    /// <summary>True when the cluster was shut down cleanly (as a primary or in recovery).</summary>
    public bool IsCleanShutdown => ClusterState is "shut down" or "shut down in recovery";

    /// <summary>"Latest checkpoint's TimeLineID".</summary>
    public int CheckpointTimeline => Int("Latest checkpoint's TimeLineID");

    /// <summary>"Latest checkpoint location" in bytes.</summary>
    public long CheckpointLsn => Lsn.TryParse(this["Latest checkpoint location"], out var v) ? v : 0;

    /// <summary>"Minimum recovery ending location" in bytes (0 when none).</summary>
    public long MinRecoveryLsn => Lsn.TryParse(this["Minimum recovery ending location"], out var v) ? v : 0;

    /// <summary>"Min recovery ending loc's timeline" (0 when none).</summary>
    public int MinRecoveryTimeline => Int("Min recovery ending loc's timeline");

    /// <summary>
    /// Where a stopped server's WAL ends and on which timeline, Patroni's way: a replica (recovery) its minimum
    /// recovery point when set, otherwise (and for a primary) its latest checkpoint.
    /// </summary>
    public (int Timeline, long Lsn) LocalPosition =>
        Role == PostgresRole.Replica && MinRecoveryLsn > 0 && MinRecoveryTimeline > 0
            ? (MinRecoveryTimeline, MinRecoveryLsn)
            : (CheckpointTimeline, CheckpointLsn);

    private int Int(string name) => int.TryParse(this[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
}

/// <summary>PostgreSQL's <c>X/Y</c> LSN text form.</summary>
internal static class Lsn
{
    /// <summary>Parses <c>16/B374D848</c> into bytes.</summary>
    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        if (text is null) return false;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return false;
        if (!uint.TryParse(text.AsSpan(0, slash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hi)) return false;
        if (!uint.TryParse(text.AsSpan(slash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var lo)) return false;
        value = (long)(((ulong)hi << 32) | lo);
        return true;
    }

    /// <summary>Formats bytes as <c>X/Y</c>.</summary>
    public static string Format(long value) =>
        string.Create(CultureInfo.InvariantCulture, $"{(ulong)value >> 32:X}/{(ulong)value & 0xFFFFFFFF:X}");
}
