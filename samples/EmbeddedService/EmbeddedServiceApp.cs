using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using PgHa.AspNetCore;
using PgHa.Hosting;

namespace EmbeddedService;

/// <summary>
/// An order service that runs next to its PostgreSQL and embeds the PgHa node that manages it: the node's Patroni REST
/// API (<c>/patroni</c>, <c>/primary</c>, …), the host's health checks (<c>/healthz</c>) and the service's own endpoint
/// (<c>/orders/write-target</c>) share one ASP.NET app.
/// </summary>
public static class EmbeddedServiceApp
{
    /// <summary>
    /// Builds the app. <paramref name="chooseDcs"/> picks the DCS (default: etcd from <c>Etcd:Endpoints</c>);
    /// <paramref name="configure"/> may change anything else (tests swap in an in-memory DCS and a PostgreSQL double).
    /// </summary>
    public static WebApplication Build(string[] args, Action<IPgHaBuilder>? chooseDcs = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);

        // The three lines that embed PgHa.
        var pgha = builder.Services.AddPgHa(builder.Configuration.GetSection(PgHaOptions.SectionName));
        if (chooseDcs is not null) chooseDcs(pgha);
        else pgha.UseEtcd(etcd => etcd.Endpoints = builder.Configuration.GetSection("Etcd:Endpoints").Get<string[]>() ?? []);

        builder.Services.AddSingleton<RoleHistory>();
        configure?.Invoke(builder);
        var app = builder.Build();

        // React to role changes, e.g. to start or stop work that must run on the primary only.
        var history = app.Services.GetRequiredService<RoleHistory>();
        app.Services.GetRequiredService<IPgHaNode>().RoleChanged += (_, e) => history.Add(e);

        app.MapHealthChecks("/healthz");
        app.MapHealthChecks("/healthz/pgha", new HealthCheckOptions { Predicate = r => r.Tags.Contains("pgha") });
        app.MapGet("/orders/write-target", (IPgHaNode node) => Results.Json(new WriteTarget(node.Name, node.Role.ToString(), node.Role == PgHaRole.Primary)));
        app.MapGet("/orders/role-history", (RoleHistory h) => Results.Json(h.Snapshot()));
        // Patroni's REST API and the /ui dashboard; the unsafe endpoints (switchover, restart, …) need the credentials
        // of RestApi:Authentication when they are configured, like Patroni's restapi.authentication.
        var auth = app.Configuration.GetSection("RestApi:Authentication");
        app.MapPgHa(security: auth["Username"] is { Length: > 0 } user
            ? new RestApiSecurity { Authentication = new RestApiCredentials(user, auth["Password"] ?? "") }
            : null);
        return app;
    }
}

/// <summary>The answer of <c>/orders/write-target</c>.</summary>
/// <param name="Member">This member's name.</param>
/// <param name="Role">Its role.</param>
/// <param name="AcceptsWrites">This node's PostgreSQL is the cluster's writable primary.</param>
public sealed record WriteTarget(string Member, string Role, bool AcceptsWrites);
