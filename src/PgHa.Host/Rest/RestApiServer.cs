using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgHa.Cluster.Serialization;

namespace PgHa.Host.Rest;

/// <summary>
/// The REST API on Kestrel: <c>GET /patroni</c> and Patroni's health endpoints (GET, HEAD and OPTIONS on any path, as
/// HAProxy checks expect). Every answer comes from the in-memory <see cref="NodeSnapshot"/>, never from the DCS or
/// PostgreSQL directly. Mutating endpoints arrive with issue #4; until then they answer 501 like unknown methods.
/// </summary>
public sealed class RestApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RestApiServer(WebApplication app) => _app = app;

    /// <summary>The addresses actually bound (useful with port 0).</summary>
    public IReadOnlyList<string> Addresses => _app.Urls.ToList();

    /// <summary>Starts listening on <paramref name="listen"/> (<c>host:port</c>).</summary>
    public static async Task<RestApiServer> StartAsync(string listen, Func<NodeSnapshot> snapshot, TimeProvider timeProvider, ILoggerProvider? loggerProvider, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (loggerProvider is not null) builder.Logging.AddProvider(loggerProvider);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.AddServerHeader = false);
        builder.WebHost.UseUrls("http://" + listen);
        var app = builder.Build();
        app.Map("/{**path}", (HttpContext context) => Handle(context, snapshot, timeProvider));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new RestApiServer(app);
    }

    private static async Task Handle(HttpContext context, Func<NodeSnapshot> snapshot, TimeProvider time)
    {
        var method = context.Request.Method;
        var isGet = HttpMethods.IsGet(method);
        if (!isGet && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method))
        {
            context.Response.StatusCode = (int)HttpStatusCode.NotImplemented;
            await context.Response.WriteAsync($"Method {method} not implemented for {context.Request.Path}", context.RequestAborted).ConfigureAwait(false);
            return;
        }
        var node = snapshot();
        var now = time.GetUtcNow();
        var path = context.Request.Path.Value ?? "/";
        int status;
        if (path.Trim('/').Split('/')[0].Equals("patroni", StringComparison.OrdinalIgnoreCase))
            status = 200;
        else
        {
            var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
            var code = HealthCheck.Evaluate(path, query, node, now, out var error);
            if (code is null)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync(error ?? "bad request", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            status = code.Value;
        }
        context.Response.StatusCode = status;
        if (!isGet) return; // HAProxy's HEAD/OPTIONS checks read the status line only
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(PatroniJson.SerializeSpaced(StatusDocument.Build(node, now)), context.RequestAborted).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
