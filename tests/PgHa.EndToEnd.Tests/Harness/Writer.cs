using System.Globalization;
using Npgsql;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>One acknowledged insert: its id, the WAL insert position right after its row, the server port that took it, when it was sent and when acknowledged.</summary>
internal sealed record Ack(long Id, ulong Lsn, int Port, long Sent, long At);

/// <summary>
/// The application: a background task inserting rows one by one through a multi-host Npgsql data source naming all
/// three nodes with <c>Target Session Attributes=read-write</c> and short timeouts, the way a client of an HA cluster
/// would. Every insert whose commit was acknowledged is recorded, with the WAL position it wrote at.
/// </summary>
internal sealed class Writer : IAsyncDisposable
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(10);
    private readonly NpgsqlMultiHostDataSource _dataSource;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Ack> _acks = [];
    private readonly long _firstId;
    private long _nextId;
    private Task? _task;
    private int _failures;
    private string? _lastError;

    public Writer(PgHaCluster cluster, long firstId)
    {
        _firstId = firstId;
        _nextId = firstId;
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = string.Join(",", cluster.Nodes.Select(n => $"127.0.0.1:{n.PgPort}")),
            Username = "postgres",
            Password = PgHaCluster.SuperuserPassword,
            Database = "postgres",
            TargetSessionAttributes = "read-write",
            Timeout = 2,
            CommandTimeout = 2,
            HostRecheckSeconds = 1,
            MaxPoolSize = 2,
            ApplicationName = "pgha-e2e-writer",
        };
        _dataSource = new NpgsqlDataSourceBuilder(csb.ConnectionString).BuildMultiHost();
    }

    public long FirstId => _firstId;
    public long LastIdTried => Interlocked.Read(ref _nextId) - 1;
    public int Failures => Volatile.Read(ref _failures);
    public string? LastError => Volatile.Read(ref _lastError);

    public IReadOnlyList<Ack> Acks
    {
        get
        {
            lock (_acks) return [.. _acks];
        }
    }

    public void Start() => _task = Task.Run(RunAsync);

    /// <summary>Waits until at least one write is acknowledged after <paramref name="after"/> (a timestamp); true when it happened in time.</summary>
    public async Task<bool> WaitForAckAfterAsync(long after, TimeSpan timeout)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < timeout)
        {
            lock (_acks)
            {
                if (_acks.Count > 0 && _acks[^1].At > after) return true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return false;
    }

    public async Task StopAsync()
    {
        if (_task is null) return;
        await _stop.CancelAsync();
        await _task;
        _task = null;
    }

    private async Task RunAsync()
    {
        NpgsqlConnection? connection = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                connection ??= await _dataSource.OpenConnectionAsync(TargetSessionAttributes.ReadWrite);
                var id = Interlocked.Increment(ref _nextId) - 1;
                var sent = TimeProvider.System.GetTimestamp();
                await using var command = new NpgsqlCommand(
                    "INSERT INTO e2e_writes (id, port) VALUES ($1, inet_server_port()) RETURNING pg_current_wal_insert_lsn()::text, inet_server_port()", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = id });
                await using var reader = await command.ExecuteReaderAsync();
                await reader.ReadAsync();
                var ack = new Ack(id, ParseLsn(reader.GetString(0)), reader.GetInt32(1), sent, TimeProvider.System.GetTimestamp());
                lock (_acks) _acks.Add(ack);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastError, ex.Message);
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }
                // Forget which host was primary: after a failover the next open must look again at once.
                _dataSource.ClearDatabaseStates();
                NpgsqlConnection.ClearAllPools();
            }
            try { await Task.Delay(Pace, TimeProvider.System, _stop.Token); }
            catch (OperationCanceledException) { }
        }
        if (connection is not null) await connection.DisposeAsync();
    }

    /// <summary>
    /// The acknowledged ids that <paramref name="node"/> does not have (read after the writer stopped; the node
    /// should be the current primary).
    /// </summary>
    public async Task<List<Ack>> MissingOnAsync(ClusterNode node)
    {
        var present = new HashSet<long>();
        await using (var connection = await node.OpenAsync(10))
        await using (var command = new NpgsqlCommand("SELECT id FROM e2e_writes WHERE id BETWEEN $1 AND $2", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = _firstId });
            command.Parameters.Add(new NpgsqlParameter { Value = LastIdTried });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) present.Add(reader.GetInt64(0));
        }
        return [.. Acks.Where(a => !present.Contains(a.Id))];
    }

    public static ulong ParseLsn(string lsn)
    {
        var slash = lsn.IndexOf('/', StringComparison.Ordinal);
        return (ulong.Parse(lsn[..slash], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32)
               | ulong.Parse(lsn[(slash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public static string FormatLsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}";

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _dataSource.DisposeAsync();
        _stop.Dispose();
    }
}
