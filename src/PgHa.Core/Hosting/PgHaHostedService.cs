using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgHa.Postgres;

namespace PgHa.Hosting;

/// <summary>
/// Runs the embedded node's HA loop for the lifetime of the host, and stops it as <c>pgha</c> does on SIGTERM:
/// the loop ends, PostgreSQL is stopped with a shutdown checkpoint, the lock is released if held (so a replica takes
/// over at once instead of after ttl), and the write fencer is stopped — except in maintenance mode, where PostgreSQL
/// and the lock are left alone.
/// </summary>
internal sealed class PgHaHostedService(PgHaNode node, ILogger<PgHaHostedService> logger) : IHostedService, IDisposable
{
    private CancellationTokenSource? _stop;
    private Task _run = Task.CompletedTask;
    private Task _watch = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var loop = node.Loop;
        HostingLog.NodeStarting(logger, node.AgentVersion, node.Name, node.Scope, node.Options.ApiUrl, node.Dcs.GetType().Name);
        // A dead postmaster is handled now, not at the next loop_wait.
        if (node.Postgres is PostgresController controller) controller.PostmasterDied += OnPostmasterDied;
        _stop = new CancellationTokenSource();
        var token = _stop.Token;
        _run = Task.Run(() => loop.RunAsync(token), CancellationToken.None);
        _watch = Task.Run(() => node.WatchAsync(token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stop is null) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _run.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await _watch.ConfigureAwait(false);
        if (node.Postgres is PostgresController controller) controller.PostmasterDied -= OnPostmasterDied;
        // The host's own stop token is not used: cutting a checkpoint or a lock release short leaves a primary fenced by
        // its TTL instead of handing over at once. Our own deadline bounds the wait instead.
        using var deadline = new CancellationTokenSource(node.Options.ShutdownTimeout, node.Time);
        try
        {
            var loop = node.Loop;
            await loop.ShutdownAsync(deadline.Token).ConfigureAwait(false);
            if (!loop.Settings.Pause && node.Postgres is PostgresController pg) await pg.StopFencerAsync(deadline.Token).ConfigureAwait(false);
            HostingLog.NodeStopped(logger, node.Name, node.Scope);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            HostingLog.ShutdownFailed(logger, ex);
        }
        node.Observe();
    }

    private void OnPostmasterDied(object? sender, PostmasterDiedEventArgs e) => node.Loop.Wake();

    public void Dispose() => _stop?.Dispose();
}
