using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Dcs.Etcd;

namespace PgHa.Hosting;

/// <summary><c>UseEtcd</c>: the embedded node's DCS is etcd v3.</summary>
public static class PgHaBuilderEtcdExtensions
{
    /// <summary>
    /// Uses etcd v3 (Patroni's <c>etcd3</c> layout) as the DCS. <c>Scope</c> and <c>Name</c> default to the node's,
    /// <c>RequestTimeout</c> to its <c>retry_timeout</c>; <paramref name="configure"/> sets the rest (at least
    /// <see cref="EtcdDcsOptions.Endpoints"/>). The options are validated when the host starts. Calling it again adds
    /// configuration; it never registers a second DCS.
    /// </summary>
    public static IPgHaBuilder UseEtcd(this IPgHaBuilder builder, Action<EtcdDcsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var first = !builder.Services.Any(d => d.ServiceType == typeof(PgHaDcsChoice) && d.ImplementationInstance is PgHaDcsChoice { Kind: Kind });
        builder.UseDcs(Kind, sp => new EtcdDcs(sp.GetRequiredService<IOptions<EtcdDcsOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<ILoggerFactory>()?.CreateLogger<EtcdDcs>()));
        var options = builder.Services.AddOptions<EtcdDcsOptions>();
        // The node's names and deadline first, so what the caller sets wins.
        if (first)
        {
            options.Configure<IOptions<PgHaOptions>>((etcd, node) =>
                {
                    etcd.Scope = node.Value.Scope;
                    etcd.Name = node.Value.Name;
                    etcd.RequestTimeout = TimeSpan.FromSeconds(node.Value.RetryTimeout);
                })
                .ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<EtcdDcsOptions>>(new EtcdOptionsValidator());
        }
        options.Configure(configure);
        return builder;
    }

    private const string Kind = "etcd3";

    private sealed class EtcdOptionsValidator : IValidateOptions<EtcdDcsOptions>
    {
        public ValidateOptionsResult Validate(string? name, EtcdDcsOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => "PgHa etcd3: " + p));
        }
    }
}
