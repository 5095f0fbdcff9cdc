using System.Collections.Immutable;
using System.Globalization;

namespace PgHa.Cluster;

/// <summary>
/// The <c>tags</c> a member publishes, in the order they were configured. Values are kept as raw JSON text so a custom
/// tag of any type round-trips unchanged; the built-in tags have typed readers with Patroni's truthiness rules.
/// </summary>
/// <param name="Entries">Tag name → raw JSON value text (for example <c>true</c>, <c>"db2"</c>, <c>2</c>).</param>
public sealed record MemberTags(ImmutableArray<KeyValuePair<string, string>> Entries)
{
    /// <summary>No tags.</summary>
    public static MemberTags Empty { get; } = new(ImmutableArray<KeyValuePair<string, string>>.Empty);

    /// <summary>Raw JSON text of a tag, or null when absent.</summary>
    public string? this[string name] => Entries.FirstOrDefault(e => e.Key == name).Value;

    /// <summary><c>nofailover</c>: never races for the lock. A <c>failover_priority</c> ≤ 0 means the same unless <c>nofailover</c> is explicitly set.</summary>
    public bool NoFailover => this["nofailover"] is { } raw ? IsTruthy(raw) : FailoverPriority <= 0;

    /// <summary><c>failover_priority</c> (default 1): among equally advanced candidates the higher wins.</summary>
    public int FailoverPriority => this["failover_priority"] is { } raw && TryInt(raw, out var p) ? p : 1;

    /// <summary><c>clonefrom</c>: preferred pg_basebackup source for new replicas.</summary>
    public bool CloneFrom => this["clonefrom"] is { } raw && IsTruthy(raw);

    /// <summary><c>noloadbalance</c>: <c>/replica</c> answers 503.</summary>
    public bool NoLoadBalance => this["noloadbalance"] is { } raw && IsTruthy(raw);

    /// <summary><c>nosync</c>: never chosen as synchronous standby.</summary>
    public bool NoSync => this["nosync"] is { } raw && IsTruthy(raw);

    /// <summary><c>replicatefrom</c>: the member to cascade from.</summary>
    public string? ReplicateFrom => this["replicatefrom"] is { } raw && raw.StartsWith('"') ? JsonStringLiteral.Decode(raw) : null;

    /// <summary>Python truthiness of a JSON value, which is what Patroni applies to boolean tags.</summary>
    public static bool IsTruthy(string rawJson) => rawJson switch
    {
        "true" => true,
        "false" or "null" or "\"\"" or "0" or "0.0" or "[]" or "{}" => false,
        _ => true,
    };

    private static bool TryInt(string raw, out int value)
    {
        if (int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        if (raw.Length > 2 && raw[0] == '"' && int.TryParse(raw.AsSpan(1, raw.Length - 2), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        value = 0;
        return false;
    }

    /// <inheritdoc />
    public bool Equals(MemberTags? other) => other is not null && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc />
    public override int GetHashCode() => Entries.Length;
}
