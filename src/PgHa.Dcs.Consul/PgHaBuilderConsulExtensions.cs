using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Dcs.Consul;

namespace PgHa.Hosting;

/// <summary><c>UseConsul</c>: the embedded node's DCS is Consul.</summary>
public static class PgHaBuilderConsulExtensions
{
    /// <summary>
    /// Uses Consul (Patroni's Consul layout) as the DCS. <c>Scope</c> and <c>Name</c> default to the node's,
    /// <c>RequestTimeout</c> to its <c>retry_timeout</c>; <paramref name="configure"/> sets the rest (at least
    /// <see cref="ConsulDcsOptions.Address"/>). The options are validated when the host starts. Calling it again adds
    /// configuration; it never registers a second DCS.
    /// </summary>
    public static IPgHaBuilder UseConsul(this IPgHaBuilder builder, Action<ConsulDcsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var first = !builder.Services.Any(d => d.ServiceType == typeof(PgHaDcsChoice) && d.ImplementationInstance is PgHaDcsChoice { Kind: Kind });
        builder.UseDcs(Kind, sp => new ConsulDcs(sp.GetRequiredService<IOptions<ConsulDcsOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<ILoggerFactory>()?.CreateLogger<ConsulDcs>()));
        var options = builder.Services.AddOptions<ConsulDcsOptions>();
        // The node's names and deadline first, so what the caller sets wins.
        if (first)
        {
            options.Configure<IOptions<PgHaOptions>>((consul, node) =>
                {
                    consul.Scope = node.Value.Scope;
                    consul.Name = node.Value.Name;
                    consul.RequestTimeout = TimeSpan.FromSeconds(node.Value.RetryTimeout);
                })
                .ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<ConsulDcsOptions>>(new ConsulOptionsValidator());
        }
        options.Configure(configure);
        return builder;
    }

    private const string Kind = "consul";

    private sealed class ConsulOptionsValidator : IValidateOptions<ConsulDcsOptions>
    {
        public ValidateOptionsResult Validate(string? name, ConsulDcsOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => "PgHa consul: " + p));
        }
    }
}
