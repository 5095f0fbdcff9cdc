using System.Collections.Immutable;
using Npgsql;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    private sealed record ExistingSlot(string Name, ReplicationSlotType Type, string? Plugin, string? Database, bool Active, long? RestartLsn, long? ConfirmedFlushLsn)
    {
        public long? Position => Type == ReplicationSlotType.Physical ? RestartLsn : ConfirmedFlushLsn;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Physical slots are created with <c>pg_create_physical_replication_slot(name, true)</c> (WAL reserved at once, on a
    /// standby from its last restartpoint); logical ones (a primary only) with
    /// <c>pg_create_logical_replication_slot(name, plugin)</c> over a connection to their database. Drops go through
    /// <c>pg_drop_replication_slot</c> and skip active slots. Replicas' copies are moved with
    /// <c>pg_replication_slot_advance</c>, which never moves a slot backwards nor past the replayed position; active
    /// slots (a cascading member streams through them) are not advanced. Temporary slots are never touched.
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, long>> SyncReplicationSlotsAsync(ReplicationSlotPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (LivePostmasterPid() is null) return ImmutableDictionary<string, long>.Empty;
        await using var conn = await OpenLocalAsync(cancellationToken).ConfigureAwait(false);
        bool inRecovery;
        await using (var check = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn))
            inRecovery = (bool)(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        var existing = await ListSlotsAsync(conn, cancellationToken).ConfigureAwait(false);
        var wanted = plan.Slots.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var changed = false;

        foreach (var slot in existing.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            string why;
            if (wanted.TryGetValue(slot.Name, out var want))
            {
                if (want.Type == slot.Type && (want.Type == ReplicationSlotType.Physical || (want.Database == slot.Database && want.Plugin == slot.Plugin)))
                    continue;
                why = $"it is a {Describe(slot.Type, slot.Database, slot.Plugin)} slot, the configuration wants a {Describe(want.Type, want.Database, want.Plugin)} one";
            }
            else if (!plan.DropUnknown || plan.Ignore.IsIgnored(slot.Name, slot.Type, slot.Database, slot.Plugin))
                continue;
            else
                why = "neither a member's slot nor a permanent one, and no ignore_slots rule matches";
            if (slot.Active) continue; // a consumer is attached: retried once it lets go
            if (await TrySlotCommandAsync(conn, "SELECT pg_drop_replication_slot($1)", [slot.Name], slot.Name, "drop", cancellationToken).ConfigureAwait(false))
            {
                PostgresLog.SlotDropped(_logger, slot.Name, why);
                existing = existing.Remove(slot.Name);
                changed = true;
            }
        }

        foreach (var want in plan.Slots)
        {
            if (existing.ContainsKey(want.Name) || !want.Create) continue;
            bool created;
            if (want.Type == ReplicationSlotType.Physical)
                created = await TrySlotCommandAsync(conn, "SELECT pg_create_physical_replication_slot($1, true)", [want.Name], want.Name, "create", cancellationToken).ConfigureAwait(false);
            else if (inRecovery)
                continue; // logical slots are created on the primary only; replicas keep what they have
            else
                created = await CreateLogicalSlotAsync(want, cancellationToken).ConfigureAwait(false);
            if (created)
            {
                PostgresLog.SlotCreated(_logger, want.Name, Describe(want.Type, want.Database, want.Plugin));
                changed = true;
            }
        }
        if (changed) existing = await ListSlotsAsync(conn, cancellationToken).ConfigureAwait(false);

        if (inRecovery)
        {
            var advanced = false;
            foreach (var want in plan.Slots)
            {
                if (want is not { AdvanceTo: { } target, Type: ReplicationSlotType.Physical }) continue;
                if (!existing.TryGetValue(want.Name, out var slot) || slot.Active || slot.RestartLsn is not { } at || at >= target) continue;
                if (await TrySlotCommandAsync(conn, "SELECT pg_replication_slot_advance($1, $2::pg_lsn)", [want.Name, Lsn.Format(target)], want.Name, "advance", cancellationToken).ConfigureAwait(false))
                    advanced = true;
            }
            if (advanced) existing = await ListSlotsAsync(conn, cancellationToken).ConfigureAwait(false);
        }
        return existing.Values.Where(s => s.Position is not null).ToImmutableDictionary(s => s.Name, s => s.Position!.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// Keeps exactly <paramref name="slotNames"/> as physical slots (a member-slots-only plan): missing ones are
    /// created, inactive unknown ones dropped.
    /// </summary>
    public Task<IReadOnlyDictionary<string, long>> SyncReplicationSlotsAsync(IReadOnlyCollection<string> slotNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(slotNames);
        var slots = slotNames.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(n => new DesiredSlot(n, ReplicationSlotType.Physical)).ToImmutableArray();
        return SyncReplicationSlotsAsync(new ReplicationSlotPlan(slots, true, ReplicationSlotsConfig.None, []), cancellationToken);
    }

    private static async Task<ImmutableDictionary<string, ExistingSlot>> ListSlotsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        const string sql = """
            SELECT slot_name, slot_type, plugin, database, active,
                   pg_wal_lsn_diff(restart_lsn, '0/0')::bigint, pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint
              FROM pg_replication_slots WHERE NOT temporary
            """;
        var slots = ImmutableDictionary.CreateBuilder<string, ExistingSlot>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            slots[name] = new ExistingSlot(name,
                reader.GetString(1) == "logical" ? ReplicationSlotType.Logical : ReplicationSlotType.Physical,
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetBoolean(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetInt64(6));
        }
        return slots.ToImmutable();
    }

    /// <summary>Runs one slot function; false (logged) when PostgreSQL refuses it, so one bad slot never blocks the others.</summary>
    private async Task<bool> TrySlotCommandAsync(NpgsqlConnection conn, string sql, object[] args, string slot, string action, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException ex)
        {
            PostgresLog.SlotActionFailed(_logger, action, slot, ex.MessageText);
            return false;
        }
    }

    private async Task<bool> CreateLogicalSlotAsync(DesiredSlot slot, CancellationToken ct)
    {
        var csb = LocalConnectionString(_options.Superuser);
        csb.Database = slot.Database;
        await using var conn = new NpgsqlConnection(csb.ConnectionString);
        try
        {
            await conn.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            PostgresLog.SlotActionFailed(_logger, "create", slot.Name, $"cannot connect to database {slot.Database}: {ex.MessageText}");
            return false;
        }
        return await TrySlotCommandAsync(conn, "SELECT pg_create_logical_replication_slot($1, $2)", [slot.Name, slot.Plugin!], slot.Name, "create", ct).ConfigureAwait(false);
    }

    private static string Describe(ReplicationSlotType type, string? database, string? plugin) =>
        type == ReplicationSlotType.Physical ? "physical" : $"logical ({plugin} in {database})";

    /// <inheritdoc />
    /// <remarks>Reads <c>pg_wal/&lt;timeline&gt;.history</c> from the data directory; timeline 1 has none (empty list).</remarks>
    public async Task<IReadOnlyList<TimelineHistoryEntry>> ReadTimelineHistoryAsync(int timeline, CancellationToken cancellationToken)
    {
        if (timeline <= 1) return [];
        var path = Path.Combine(DataDir, "pg_wal", TimelineHistoryFile.FileName(timeline));
        var content = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        return TimelineHistoryFile.Parse(content);
    }
}
