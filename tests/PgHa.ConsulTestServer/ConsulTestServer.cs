using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PgHa.ConsulTestServer;

/// <summary>
/// A Consul HTTP API server on a loopback port (Kestrel over a <see cref="ConsulStore"/>), in-process. Start it with
/// <see cref="StartAsync"/>, point a client at <see cref="Address"/>, dispose it to stop.
/// </summary>
public sealed class ConsulTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _freezeGate = new();
    private TaskCompletionSource? _thawed; // non-null while frozen

    private ConsulTestServer(WebApplication app, ConsulStore store, int port)
    {
        _app = app;
        Store = store;
        Port = port;
    }

    /// <summary>The datacenter's state, for tests that inspect or change it directly.</summary>
    public ConsulStore Store { get; }

    /// <summary>The port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The base URL, for example <c>http://127.0.0.1:8500</c>.</summary>
    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>Whether <see cref="Freeze"/> is in effect.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_freezeGate) return _thawed is not null;
        }
    }

    /// <summary>Starts a server with <paramref name="options"/> on <paramref name="timeProvider"/> (system clock when null).</summary>
    public static async Task<ConsulTestServer> StartAsync(ConsulTestServerOptions? options = null, TimeProvider? timeProvider = null, ILoggerProvider? logging = null)
    {
        options ??= new ConsulTestServerOptions();
        var store = new ConsulStore(options, timeProvider ?? TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is not null) builder.Logging.AddProvider(logging);
        builder.WebHost.UseUrls($"http://{options.Address}:{options.Port}");
        var app = builder.Build();
        ConsulTestServer? server = null;
        // While frozen, requests are accepted and then held unanswered, as by a stopped process.
        app.Use(async (HttpContext ctx, RequestDelegate next) =>
        {
            if (server?.FrozenGate() is { } thawed) await thawed.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
            await next(ctx).ConfigureAwait(false);
        });
        ConsulHttpApi.Map(app, store);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetService(typeof(IServer)) is IServer s
            ? s.Features.Get<IServerAddressesFeature>()!.Addresses.First()
            : throw new InvalidOperationException("Kestrel did not start");
        server = new ConsulTestServer(app, store, new Uri(address).Port);
        return server;
    }

    private Task? FrozenGate()
    {
        lock (_freezeGate) return _thawed?.Task;
    }

    /// <summary>Stops answering: connections are accepted, requests are held until <see cref="Thaw"/>. Session timers keep running.</summary>
    public void Freeze()
    {
        lock (_freezeGate) _thawed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Answers again, held requests included.</summary>
    public void Thaw()
    {
        TaskCompletionSource? thawed;
        lock (_freezeGate)
        {
            thawed = _thawed;
            _thawed = null;
        }
        thawed?.TrySetResult();
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        Thaw();
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5), TimeProvider.System))
            await _app.StopAsync(stopping.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
    }
}
