using Npgsql;
using PgHa.Cluster;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// Creates missing physical slots with <c>pg_create_physical_replication_slot(name, true)</c> (WAL reserved at
    /// once) and drops physical slots not in <paramref name="slotNames"/> unless they are active. Logical slots are
    /// never touched. Works on a replica too (the slots of members cascading from it). Does nothing when PostgreSQL is
    /// not running.
    /// </remarks>
    public async Task SyncReplicationSlotsAsync(IReadOnlyCollection<string> slotNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(slotNames);
        if (LivePostmasterPid() is null) return;
        await using var conn = await OpenLocalAsync(cancellationToken).ConfigureAwait(false);
        var existing = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using (var list = new NpgsqlCommand("SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'", conn))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) existing[reader.GetString(0)] = reader.GetBoolean(1);
        }
        var wanted = new HashSet<string>(slotNames, StringComparer.Ordinal);
        foreach (var name in wanted.Where(n => !existing.ContainsKey(n)).Order(StringComparer.Ordinal))
        {
            await using var create = new NpgsqlCommand("SELECT pg_create_physical_replication_slot($1, true)", conn);
            create.Parameters.Add(new NpgsqlParameter { Value = name });
            try
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                PostgresLog.SlotCreated(_logger, name);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateObject)
            {
                // Created meanwhile: that is the wanted state.
            }
        }
        foreach (var (name, active) in existing.Where(e => !wanted.Contains(e.Key)).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (active) continue;
            await using var drop = new NpgsqlCommand("SELECT pg_drop_replication_slot($1)", conn);
            drop.Parameters.Add(new NpgsqlParameter { Value = name });
            try
            {
                await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                PostgresLog.SlotDropped(_logger, name);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedObject or PostgresErrorCodes.ObjectInUse)
            {
                // Dropped meanwhile, or a walsender attached since the listing: keep it; the next sync looks again.
            }
        }
    }

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
