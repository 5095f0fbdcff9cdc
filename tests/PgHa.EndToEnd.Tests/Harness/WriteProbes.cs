using Npgsql;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>One probe of one node: a tiny INSERT over the node's own socket, started and finished at these timestamps.</summary>
internal sealed record ProbeResult(string Node, long Started, long Finished, bool Accepted, string? Error);

/// <summary>
/// Asks every node every 80 ms (so no gap exceeds 100 ms; or every <c>interval</c> given), each on its own connection, whether it accepts a write right now: an INSERT into
/// e2e_probe (a replica refuses it as read-only; a stopped or fenced server does not answer). The record of who
/// accepted writes when is what split-brain and fence checks are made of.
/// </summary>
internal sealed class WriteProbes : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(80);
    private readonly IReadOnlyList<ClusterNode> _nodes;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<ProbeResult> _results = [];
    private Task[] _tasks = [];

    public WriteProbes(IReadOnlyList<ClusterNode> nodes, TimeSpan? interval = null)
    {
        _nodes = nodes;
        _interval = interval ?? Interval;
    }

    public IReadOnlyList<ProbeResult> Results
    {
        get
        {
            lock (_results) return [.. _results];
        }
    }

    public void Start() => _tasks = [.. _nodes.Select(n => Task.Run(() => ProbeAsync(n)))];

    /// <summary>Waits until <paramref name="condition"/> holds for a new result; returns that result, or null on timeout.</summary>
    public async Task<ProbeResult?> WaitForAsync(Func<ProbeResult, bool> condition, TimeSpan timeout)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < timeout)
        {
            lock (_results)
            {
                var hit = _results.FirstOrDefault(condition);
                if (hit is not null) return hit;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return null;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        _tasks = [];
    }

    private async Task ProbeAsync(ClusterNode node)
    {
        NpgsqlConnection? connection = null;
        while (!_stop.IsCancellationRequested)
        {
            var started = TimeProvider.System.GetTimestamp();
            bool accepted;
            string? error = null;
            try
            {
                if (connection is null)
                {
                    connection = new NpgsqlConnection(node.LocalConnectionString(timeoutSeconds: 1));
                    await connection.OpenAsync();
                }
                await using var command = new NpgsqlCommand("INSERT INTO e2e_probe (node) VALUES ($1)", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = node.Name });
                await command.ExecuteNonQueryAsync();
                accepted = true;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                accepted = false;
                error = ex.Message;
                // A refused write on a healthy replica keeps the connection usable; anything else starts afresh.
                if (ex is not PostgresException { SqlState: "25006" } && connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }
            }
            var finished = TimeProvider.System.GetTimestamp();
            lock (_results) _results.Add(new ProbeResult(node.Name, started, finished, accepted, error));
            var wait = _interval - TimeProvider.System.GetElapsedTime(started);
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
