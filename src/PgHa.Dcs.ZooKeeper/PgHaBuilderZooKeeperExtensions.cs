using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Dcs.ZooKeeper;

namespace PgHa.Hosting;

/// <summary><c>UseZooKeeper</c>: the embedded node's DCS is ZooKeeper.</summary>
public static class PgHaBuilderZooKeeperExtensions
{
    /// <summary>
    /// Uses ZooKeeper (Patroni's <c>zookeeper</c> layout) as the DCS. <c>Scope</c> and <c>Name</c> default to the node's,
    /// <c>Ttl</c> (the session timeout) to its <c>ttl</c> and <c>RequestTimeout</c> to its <c>retry_timeout</c>;
    /// <paramref name="configure"/> sets the rest (at least <see cref="ZooKeeperDcsOptions.Hosts"/>). The options are
    /// validated when the host starts. Calling it again adds configuration; it never registers a second DCS.
    /// </summary>
    public static IPgHaBuilder UseZooKeeper(this IPgHaBuilder builder, Action<ZooKeeperDcsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var first = !builder.Services.Any(d => d.ServiceType == typeof(PgHaDcsChoice) && d.ImplementationInstance is PgHaDcsChoice { Kind: Kind });
        builder.UseDcs(Kind, sp => new ZooKeeperDcs(sp.GetRequiredService<IOptions<ZooKeeperDcsOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<ILoggerFactory>()?.CreateLogger<ZooKeeperDcs>()));
        var options = builder.Services.AddOptions<ZooKeeperDcsOptions>();
        // The node's names and timing first, so what the caller sets wins.
        if (first)
        {
            options.Configure<IOptions<PgHaOptions>>((zookeeper, node) =>
                {
                    zookeeper.Scope = node.Value.Scope;
                    zookeeper.Name = node.Value.Name;
                    zookeeper.Ttl = TimeSpan.FromSeconds(node.Value.Ttl);
                    zookeeper.RequestTimeout = TimeSpan.FromSeconds(node.Value.RetryTimeout);
                })
                .ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<ZooKeeperDcsOptions>>(new ZooKeeperOptionsValidator());
        }
        options.Configure(configure);
        return builder;
    }

    private const string Kind = "zookeeper";

    private sealed class ZooKeeperOptionsValidator : IValidateOptions<ZooKeeperDcsOptions>
    {
        public ValidateOptionsResult Validate(string? name, ZooKeeperDcsOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => "PgHa zookeeper: " + p));
        }
    }
}
