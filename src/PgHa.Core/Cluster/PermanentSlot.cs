namespace PgHa.Cluster;

/// <summary>The two kinds of replication slot.</summary>
public enum ReplicationSlotType
{
    /// <summary>A physical slot (streaming replication, WAL retention).</summary>
    Physical,
    /// <summary>A logical slot (logical decoding), bound to a database and an output plugin.</summary>
    Logical,
}

/// <summary>
/// One entry of <c>slots</c> in the dynamic configuration (aliases <c>permanent_slots</c>,
/// <c>permanent_replication_slots</c>): a slot the leader keeps whoever is the leader (patroni-compat.md §5.15).
/// </summary>
/// <param name="Name">Slot name (<c>[a-z0-9_]</c>, at most 63 characters).</param>
/// <param name="Type">Physical or logical.</param>
/// <param name="Database">Logical slots: the database.</param>
/// <param name="Plugin">Logical slots: the output plugin.</param>
public sealed record PermanentSlot(string Name, ReplicationSlotType Type, string? Database = null, string? Plugin = null);

/// <summary>
/// One entry of <c>ignore_slots</c>: a slot matching every property given here is left alone (never dropped) although
/// it is neither a member slot nor a permanent one. Absent properties match anything.
/// </summary>
/// <param name="Name">Slot name, or null.</param>
/// <param name="Type"><c>physical</c> or <c>logical</c>, or null.</param>
/// <param name="Database">Database, or null.</param>
/// <param name="Plugin">Output plugin, or null.</param>
public sealed record IgnoreSlotRule(string? Name, string? Type, string? Database, string? Plugin)
{
    /// <summary>True when the existing slot matches every property this rule names (Patroni's matcher).</summary>
    public bool Matches(string name, ReplicationSlotType type, string? database, string? plugin) =>
        (Name is null || Name == name)
        && (string.IsNullOrEmpty(Type) || Type == (type == ReplicationSlotType.Physical ? "physical" : "logical"))
        && (string.IsNullOrEmpty(Database) || Database == database)
        && (string.IsNullOrEmpty(Plugin) || Plugin == plugin);
}
