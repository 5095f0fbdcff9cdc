using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Loop;
using PgHa.Peers;
using PgHa.Postgres;

namespace PgHa.Hosting;

/// <summary>
/// Embeds a PgHa node in a .NET host: <c>services.AddPgHa(configuration.GetSection("PgHa")).UseEtcd(o =&gt; …)</c>.
/// </summary>
/// <remarks>
/// <para>Registers the node (<see cref="IPgHaNode"/>), a hosted service that runs its HA loop and shuts it down cleanly,
/// the <c>pgha</c> health check (<see cref="PgHaHealthCheck"/>, tag <c>pgha</c>), the <c>PgHa</c> meter
/// (<see cref="PgHaMetrics"/>) and validation of <see cref="PgHaOptions"/> at start. Calling <c>AddPgHa</c> again only
/// adds configuration: nothing is registered twice.</para>
/// <para>Without a custom <see cref="IPostgresControl"/> (<see cref="UsePostgres"/>), PgHa drives the local PostgreSQL
/// itself through <see cref="PostgresController"/> with <see cref="PgHaOptions.Postgres"/>. A registered
/// <see cref="TimeProvider"/> is used as the clock, else the system clock.</para>
/// </remarks>
public static class PgHaServiceCollectionExtensions
{
    /// <summary>The name of the health check registration.</summary>
    public const string HealthCheckName = "pgha";

    /// <summary>Adds PgHa with options bound from <paramref name="configuration"/> (usually the <c>PgHa</c> section).</summary>
    public static IPgHaBuilder AddPgHa(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddPgHaCore(services);
        services.AddOptions<PgHaOptions>().Bind(configuration);
        return builder;
    }

    /// <summary>Adds PgHa with options set by <paramref name="configure"/>.</summary>
    public static IPgHaBuilder AddPgHa(this IServiceCollection services, Action<PgHaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = AddPgHaCore(services);
        services.Configure(configure);
        return builder;
    }

    /// <summary>Uses <typeparamref name="TDcs"/> (a custom DCS plugin), created by the container, as the DCS.</summary>
    /// <exception cref="InvalidOperationException">Another DCS was already chosen.</exception>
    public static IPgHaBuilder UseDcs<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TDcs>(this IPgHaBuilder builder)
        where TDcs : class, IDcs
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (ChooseDcs(builder.Services, typeof(TDcs).Name)) builder.Services.AddSingleton<IDcs, TDcs>();
        return builder;
    }

    /// <summary>
    /// Uses the DCS <paramref name="factory"/> creates, under the adapter name <paramref name="kind"/>. For adapter
    /// packages: their <c>Use…</c> methods call this. Choosing the same kind again only returns the builder.
    /// </summary>
    /// <exception cref="InvalidOperationException">A DCS of another kind was already chosen.</exception>
    public static IPgHaBuilder UseDcs(this IPgHaBuilder builder, string kind, Func<IServiceProvider, IDcs> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(factory);
        if (ChooseDcs(builder.Services, kind)) builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>
    /// Uses the <see cref="IPostgresControl"/> <paramref name="factory"/> creates instead of PgHa's own
    /// <see cref="PostgresController"/> (for example a controller of a managed PostgreSQL, or a test double). Replaces an
    /// earlier choice: one port is ever registered.
    /// </summary>
    public static IPgHaBuilder UsePostgres(this IPgHaBuilder builder, Func<IServiceProvider, IPostgresControl> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IPostgresControl>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    // True when the DCS of this kind is to be registered now; false when it already is.
    private static bool ChooseDcs(IServiceCollection services, string kind)
    {
        var chosen = services.FirstOrDefault(d => d.ServiceType == typeof(PgHaDcsChoice))?.ImplementationInstance as PgHaDcsChoice;
        if (chosen is not null)
        {
            if (chosen.Kind == kind) return false;
            throw new InvalidOperationException($"PgHa: the DCS is already chosen ({chosen.Kind}); a node uses one DCS, so {kind} cannot be added as well.");
        }
        if (services.Any(d => d.ServiceType == typeof(IDcs)))
            throw new InvalidOperationException($"PgHa: an IDcs is already registered outside PgHa's Use… methods; {kind} cannot be added as well.");
        services.AddSingleton(new PgHaDcsChoice(kind));
        return true;
    }

    private static PgHaBuilder AddPgHaCore(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new PgHaBuilder(services);
        if (services.Any(d => d.ServiceType == typeof(PgHaNode))) return builder;

        services.AddOptions<PgHaOptions>()
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(o.Postgres.Scope)) o.Postgres.Scope = o.Scope;
                if (string.IsNullOrEmpty(o.Postgres.MemberName)) o.Postgres.MemberName = o.Name;
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgHaOptions>, PgHaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgHaOptions>, PgHaRegistrationValidator>());

        services.TryAddSingleton(sp => new PgHaPeerHttp(sp));
        services.TryAddSingleton(sp => new PgHaDefaultPostgres(sp));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PgHaOptions>>().Value;
            var time = Clock(sp);
            var postgres = sp.GetService<IPostgresControl>() ?? sp.GetRequiredService<PgHaDefaultPostgres>().Controller;
            var node = new PgHaNode(options, sp.GetRequiredService<IDcs>(), postgres, sp.GetRequiredService<PgHaPeerHttp>().Client, time, sp.GetService<ILoggerFactory>());
            node.Metrics = new PgHaMetrics(node, sp.GetService<IMeterFactory>());
            return node;
        });
        services.TryAddSingleton<IPgHaNode>(sp => sp.GetRequiredService<PgHaNode>());
        services.AddHostedService<PgHaHostedService>();
        services.AddHealthChecks().Add(new HealthCheckRegistration(HealthCheckName,
            sp => new PgHaHealthCheck(sp.GetRequiredService<IPgHaNode>(), Clock(sp)), failureStatus: null, tags: ["pgha"]));
        return builder;
    }

    internal static TimeProvider Clock(IServiceProvider services) => services.GetService<TimeProvider>() ?? TimeProvider.System;

    // The HTTP client the leader race asks peers' /patroni with; owned by the container.
    internal sealed class PgHaPeerHttp : IDisposable
    {
        private readonly HttpClient _http = new();

        public PgHaPeerHttp(IServiceProvider services) =>
            Client = services.GetService<IPeerStatusClient>()
                     ?? new HttpPeerStatusClient(_http, Clock(services), services.GetService<ILoggerFactory>()?.CreateLogger<HttpPeerStatusClient>());

        public IPeerStatusClient Client { get; }

        public void Dispose() => _http.Dispose();
    }

    // PgHa's own PostgreSQL controller, created only when no other IPostgresControl is registered.
    internal sealed class PgHaDefaultPostgres(IServiceProvider services) : IDisposable
    {
        private readonly Lazy<PostgresController> _controller = new(() => new PostgresController(
            services.GetRequiredService<IOptions<PgHaOptions>>().Value.Postgres, Clock(services),
            services.GetService<ILoggerFactory>()?.CreateLogger<PostgresController>()));

        public PostgresController Controller => _controller.Value;

        public void Dispose()
        {
            if (_controller.IsValueCreated) _controller.Value.Dispose();
        }
    }
}
