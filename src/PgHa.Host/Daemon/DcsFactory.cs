using Microsoft.Extensions.Logging;
using PgHa.Dcs;
using PgHa.Dcs.Consul;
using PgHa.Dcs.Etcd;
using PgHa.Dcs.ZooKeeper;
using PgHa.Host.Configuration;

namespace PgHa.Host.Daemon;

/// <summary>A DCS adapter ready to be created, or the configuration problems that stop it.</summary>
/// <param name="Endpoints">What the adapter connects to, for the start-up log line.</param>
/// <param name="Problems">Each problem prefixed with the configuration section it belongs to; empty when valid.</param>
/// <param name="Create">Creates the adapter; only called when <paramref name="Problems"/> is empty.</param>
public sealed record DcsChoice(string Endpoints, IReadOnlyList<string> Problems, Func<TimeProvider, ILoggerFactory, IDcs> Create);

/// <summary>Chooses the DCS adapter for the configured section (<c>etcd3</c>/<c>etcd</c>, <c>zookeeper</c>, <c>consul</c>).</summary>
public static class DcsFactory
{
    /// <summary>The adapter for <paramref name="config"/>'s DCS section, with its options validated.</summary>
    public static DcsChoice Choose(PgHaConfig config) => config.Dcs switch
    {
        EtcdConfig etcd => Etcd(config, etcd),
        ConsulConfig consul => Consul(config, consul),
        ZooKeeperConfig zookeeper => ZooKeeper(config, zookeeper),
        _ => new DcsChoice("", [$"{config.Dcs.Kind}: this DCS is not supported; use an etcd3, etcd, zookeeper or consul section"], (_, _) => throw new InvalidOperationException("invalid DCS configuration")),
    };

    private static DcsChoice Etcd(PgHaConfig config, EtcdConfig etcd)
    {
        var options = ComponentOptions.Etcd(config, etcd);
        return new DcsChoice(string.Join(",", options.Endpoints), [.. options.Validate().Select(p => $"{etcd.Kind}: {p}")],
            (time, loggers) => new EtcdDcs(options, time, loggers.CreateLogger<EtcdDcs>()));
    }

    private static DcsChoice Consul(PgHaConfig config, ConsulConfig consul)
    {
        var problems = new List<string>();
        ConsulDcsOptions? options = null;
        try
        {
            options = ComponentOptions.Consul(config, consul);
            problems.AddRange(options.Validate());
        }
        catch (FormatException ex)
        {
            problems.Add(ex.Message);
        }
        return new DcsChoice(consul.BaseUrl, [.. problems.Select(p => $"{consul.Kind}: {p}")],
            (time, loggers) => new ConsulDcs(options!, time, loggers.CreateLogger<ConsulDcs>()));
    }

    private static DcsChoice ZooKeeper(PgHaConfig config, ZooKeeperConfig zookeeper)
    {
        var options = ComponentOptions.ZooKeeper(config, zookeeper);
        var problems = ComponentOptions.ZooKeeperProblems(zookeeper).Concat(options.Validate()).Select(p => $"{zookeeper.Kind}: {p}");
        return new DcsChoice(string.Join(",", options.Hosts), [.. problems],
            (time, loggers) => new ZooKeeperDcs(options, time, loggers.CreateLogger<ZooKeeperDcs>()));
    }
}
