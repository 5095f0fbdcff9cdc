using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PgHa.Hosting;

namespace PgHa.AspNetCore;

/// <summary>
/// <c>app.MapPgHa()</c>: serves the embedded node's Patroni REST API (health checks such as <c>/primary</c> and
/// <c>/replica</c>, <c>/patroni</c>, <c>/cluster</c>, <c>/switchover</c>, …) from the host's own ASP.NET app, with the
/// same handlers <c>pgha</c> serves on its own Kestrel.
/// </summary>
public static class PgHaEndpointRouteBuilderExtensions
{
    /// <summary>
    /// The first path segments Patroni answers (<c>patroni-compat.md</c> §3), and the dashboard's <c>ui</c>. At the root only these are mapped, so the
    /// host's other routes and its 404s stay its own; Patroni's "any other GET is a health check" holds under a prefix.
    /// </summary>
    public static IReadOnlyList<string> RootSegments { get; } =
    [
        "patroni", "cluster", "history", "config", "failsafe", "metrics", "liveness", "readiness", "health",
        "primary", "master", "leader", "read-write", "standby-leader", "standby_leader", "replica", "read-only",
        "read-only-sync", "sync", "synchronous", "async", "asynchronous", "read-only-async",
        "reload", "restart", "switchover", "failover", "reinitialize", "ui",
    ];

    /// <summary>
    /// Maps the node registered with <c>AddPgHa</c> at <paramref name="prefix"/> (empty: at the root, where peers and
    /// <c>pgha ctl</c> expect it; then <c>PgHa:ApiUrl</c> is <c>http(s)://host:port/patroni</c>).
    /// </summary>
    /// <param name="endpoints">The host's app.</param>
    /// <param name="prefix">Path prefix such as <c>/pgha</c>, or empty.</param>
    /// <param name="security">Patroni's <c>restapi</c> protections of the unsafe endpoints (Basic authentication,
    /// allowlist, extra headers); null leaves them open, as Patroni does without <c>authentication</c>. TLS is the host's
    /// own Kestrel configuration.</param>
    /// <returns>The mapped endpoints, to add conventions to (authorization, rate limiting, …).</returns>
    public static IEndpointConventionBuilder MapPgHa(this IEndpointRouteBuilder endpoints, string prefix = "", RestApiSecurity? security = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var node = endpoints.ServiceProvider.GetService<IPgHaNode>()
                   ?? throw new InvalidOperationException("MapPgHa: no PgHa node is registered; call services.AddPgHa(...).Use…(...) first.");
        var time = endpoints.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
        var basePath = prefix.Trim().TrimEnd('/');
        if (basePath.Length > 0 && !basePath.StartsWith('/')) basePath = "/" + basePath;
        var server = RestApiServer.ForEndpoints(new RestApiServerOptions
        {
            Listen = "(mapped into the host's app)",
            Snapshot = () =>
            {
                var loop = node.Loop;
                return new NodeSnapshot(node.Scope, loop.Options.Identity, loop.Settings, loop.Memory, loop.LastCycle, node.AgentVersion)
                {
                    ScheduledRestart = loop.ScheduledRestart,
                };
            },
            TimeProvider = time,
            Dcs = node.Dcs,
            Operations = node.Loop,
            Peers = node.Peers,
            Security = security,
        }, basePath);
        var group = endpoints.MapGroup(basePath);
        if (basePath.Length > 0)
        {
            group.Map("/", server.HandleAsync);
            group.Map("/{**path}", server.HandleAsync);
        }
        else
        {
            foreach (var segment in RootSegments)
            {
                group.Map("/" + segment, server.HandleAsync);
                group.Map("/" + segment + "/{**rest}", server.HandleAsync);
            }
        }
        return group;
    }
}
