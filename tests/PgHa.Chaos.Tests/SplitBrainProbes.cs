using Npgsql;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>
/// Asks every node every <see cref="Interval"/>, each on its own unix-socket session with 1 s timeouts, whether it
/// accepts a write right now (an INSERT into chaos_probe; a replica refuses it as read-only, a stopped, frozen or
/// fenced server does not answer). Each session is numbered, so <see cref="SplitBrainChecker"/> knows which
/// acknowledged probes share a backend.
/// </summary>
internal sealed class SplitBrainProbes : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(40);
    private readonly IReadOnlyList<ClusterNode> _nodes;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Probe> _results = [];
    private Task[] _tasks = [];

    public SplitBrainProbes(IReadOnlyList<ClusterNode> nodes) => _nodes = nodes;

    public IReadOnlyList<Probe> Results
    {
        get
        {
            lock (_results) return [.. _results];
        }
    }

    public void Start() => _tasks = [.. _nodes.Select(n => Task.Run(() => ProbeAsync(n)))];

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        _tasks = [];
    }

    private async Task ProbeAsync(ClusterNode node)
    {
        NpgsqlConnection? connection = null;
        var session = 0;
        while (!_stop.IsCancellationRequested)
        {
            var started = TimeProvider.System.GetTimestamp();
            long sent = started;
            bool accepted;
            string? error = null;
            try
            {
                if (connection is null)
                {
                    connection = new NpgsqlConnection(node.LocalConnectionString(timeoutSeconds: 1));
                    session++;
                    await connection.OpenAsync();
                }
                await using var command = new NpgsqlCommand("INSERT INTO chaos_probe (node) VALUES ($1)", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = node.Name });
                sent = TimeProvider.System.GetTimestamp();
                await command.ExecuteNonQueryAsync();
                accepted = true;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                accepted = false;
                error = ex.Message;
                // A refused write on a healthy replica keeps the session usable; anything else starts a new one.
                if (ex is not PostgresException { SqlState: "25006" } && connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }
            }
            var answered = TimeProvider.System.GetTimestamp();
            lock (_results) _results.Add(new Probe(node.Name, session, sent, answered, accepted, error));
            var wait = Interval - TimeProvider.System.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                try { await Task.Delay(wait, TimeProvider.System, _stop.Token); }
                catch (OperationCanceledException) { }
            }
        }
        if (connection is not null) await connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
