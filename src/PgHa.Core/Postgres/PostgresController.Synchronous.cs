using System.Collections.Immutable;
using Npgsql;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    // pg_reload_conf() only signals; the checkpointer publishes the new synchronous standby list to the backends within
    // milliseconds. Patroni waits 100 ms; a little more costs nothing.
    private static readonly TimeSpan SynchronousSettle = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    /// <remarks>
    /// The value lives in its own file in the state directory (<c>synchronous.conf</c>), included last by the
    /// <c>postgresql.conf</c> PgHa writes, so it overrides the configured parameters, survives restarts and agent
    /// restarts, and is never copied to a replica by pg_basebackup. Null removes the file. A running server is reloaded.
    /// </remarks>
    public async Task<long?> SetSynchronousStandbyNamesAsync(string? value, CancellationToken cancellationToken)
    {
        EnsureStateDirectory();
        if (value is null) File.Delete(_files.SynchronousConfPath);
        else PostgresConfigFiles.WriteAtomic(_files.SynchronousConfPath, PostgresConfigFiles.RenderSynchronousConf(value));
        _files.EnsureSynchronousInclude();
        if (LivePostmasterPid() is null) return null;
        await ExecuteAsync("SELECT pg_catalog.pg_reload_conf()", cancellationToken).ConfigureAwait(false);
        await Task.Delay(SynchronousSettle, _time, cancellationToken).ConfigureAwait(false);
        await using var conn = await OpenLocalAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(
            "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(), '0/0')::bigint END", conn);
        var flush = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        PostgresLog.Reloaded(_logger, $"synchronous_standby_names = '{value ?? "<from parameters>"}'");
        return flush is long lsn ? lsn : null;
    }

    /// <summary>The value PgHa manages (the content of <c>synchronous.conf</c>), or null when it manages none.</summary>
    private string? ReadManagedSynchronousStandbyNames()
    {
        try
        {
            return File.Exists(_files.SynchronousConfPath) ? PostgresConfigFiles.ParseSynchronousConf(File.ReadAllText(_files.SynchronousConfPath)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task<ImmutableArray<ReplicationConnection>> QueryReplicationAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        const string sql = """
            SELECT application_name, state, sync_state, pg_catalog.pg_wal_lsn_diff(flush_lsn, '0/0')::bigint
              FROM pg_catalog.pg_stat_replication
            """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = ImmutableArray.CreateBuilder<ReplicationConnection>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new ReplicationConnection(
                reader.IsDBNull(0) ? "" : reader.GetString(0),
                reader.IsDBNull(1) ? "" : reader.GetString(1),
                reader.IsDBNull(2) ? "" : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3)));
        }
        return rows.ToImmutable();
    }
}
