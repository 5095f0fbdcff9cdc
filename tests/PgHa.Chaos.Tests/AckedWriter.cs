using System.Globalization;
using Npgsql;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>
/// The application: inserts rows one by one (every 10 ms) through a multi-host Npgsql data source naming all three
/// nodes with <c>Target Session Attributes=read-write</c> and short timeouts, and records each acknowledged insert with
/// the timeline and WAL position it was written at — what <see cref="LostWriteChecker"/> needs to judge a loss.
/// </summary>
internal sealed class AckedWriter : IAsyncDisposable
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(10);
    private readonly NpgsqlMultiHostDataSource _dataSource;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<AckedWrite> _acks = [];
    private long _nextId;
    private Task? _task;
    private int _failures;

    public AckedWriter(PgHaCluster cluster, long firstId)
    {
        FirstId = firstId;
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
            ApplicationName = "pgha-chaos-writer",
        };
        _dataSource = new NpgsqlDataSourceBuilder(csb.ConnectionString).BuildMultiHost();
    }

    public long FirstId { get; }
    public long LastIdTried => Interlocked.Read(ref _nextId) - 1;
    public int Failures => Volatile.Read(ref _failures);

    public IReadOnlyList<AckedWrite> Acks
    {
        get
        {
            lock (_acks) return [.. _acks];
        }
    }

    public void Start() => _task = Task.Run(RunAsync);

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
                // pg_walfile_name names the segment on the timeline WAL is inserted on now: its first 8 hex digits.
                await using var command = new NpgsqlCommand(
                    "INSERT INTO chaos_writes (id) VALUES ($1) RETURNING pg_current_wal_insert_lsn()::text, pg_walfile_name(pg_current_wal_insert_lsn()), inet_server_port()", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = id });
                await using var reader = await command.ExecuteReaderAsync();
                await reader.ReadAsync();
                var lsn = LostWriteChecker.ParseLsn(reader.GetString(0));
                var timeline = int.Parse(reader.GetString(1)[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var ack = new AckedWrite(id, timeline, lsn, reader.GetInt32(2), sent, TimeProvider.System.GetTimestamp());
                lock (_acks) _acks.Add(ack);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                Interlocked.Increment(ref _failures);
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

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _dataSource.DisposeAsync();
        _stop.Dispose();
    }
}
