using PgHa.Cluster;

namespace PgHa.Dcs;

/// <summary>When a write to a cluster key may happen.</summary>
public readonly record struct WriteCondition
{
    private WriteCondition(WriteConditionKind kind, DcsVersion version) => (Kind, Version) = (kind, version);

    /// <summary>What is compared.</summary>
    public WriteConditionKind Kind { get; }

    /// <summary>The version the key must still have (for <see cref="WriteConditionKind.VersionMatches"/>).</summary>
    public DcsVersion Version { get; }

    /// <summary>Unconditional write (Patroni writes <c>status</c>, <c>history</c> and <c>PUT /config</c> this way).</summary>
    public static WriteCondition Always => new(WriteConditionKind.Always, default);

    /// <summary>Create-only: fails when the key exists (the <c>initialize</c> race).</summary>
    public static WriteCondition IfAbsent => new(WriteConditionKind.Absent, default);

    /// <summary>Compare-and-set: fails unless the key still has <paramref name="version"/>.</summary>
    public static WriteCondition IfVersion(DcsVersion version) => new(WriteConditionKind.VersionMatches, version);

    /// <summary>CAS when a version is known (the key existed when read), create-only otherwise.</summary>
    public static WriteCondition FromRead(DcsVersion? version) => version is { } v ? IfVersion(v) : IfAbsent;

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        WriteConditionKind.Always => "always",
        WriteConditionKind.Absent => "if-absent",
        _ => $"if-version={Version}",
    };
}

/// <summary>Kinds of <see cref="WriteCondition"/>.</summary>
public enum WriteConditionKind
{
    /// <summary>No condition.</summary>
    Always,
    /// <summary>The key must not exist.</summary>
    Absent,
    /// <summary>The key must exist with the given version.</summary>
    VersionMatches,
}
