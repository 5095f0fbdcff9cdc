using System.Net;
using System.Text;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>A node's three fault proxies: its link to the DCS, and the two ways peers reach it (REST API, PostgreSQL).</summary>
internal sealed record NodeProxies(FaultProxy Dcs, FaultProxy Rest, FaultProxy Postgres)
{
    public IEnumerable<FaultProxy> All => [Dcs, Rest, Postgres];
}

/// <summary>
/// The end-to-end harness's three-node cluster on etcd, rewired through fault proxies: each node's <c>etcd3.hosts</c>
/// names its own proxy to etcd, and its <c>restapi.connect_address</c> and <c>postgresql.connect_address</c> (what it
/// publishes in its member key, so what peers use for /patroni checks, replication, pg_basebackup and pg_rewind) name
/// proxies in front of its REST port and PostgreSQL port. The test's own clients (probes, writer, observer) connect
/// directly. Optionally bootstraps with <c>synchronous_mode: true</c>.
/// </summary>
internal sealed class ChaosCluster : IAsyncDisposable
{
    private readonly Dictionary<string, NodeProxies> _proxies;

    private ChaosCluster(PgHaCluster cluster, Dictionary<string, NodeProxies> proxies, bool synchronous)
    {
        Cluster = cluster;
        _proxies = proxies;
        Synchronous = synchronous;
    }

    public PgHaCluster Cluster { get; }
    public bool Synchronous { get; }
    public NodeProxies Proxies(ClusterNode node) => _proxies[node.Name];

    public static async Task<ChaosCluster> StartAsync(bool synchronous)
    {
        var proxies = new Dictionary<string, NodeProxies>();
        EtcdProcess? etcd = null;
        try
        {
            var cluster = await PgHaCluster.StartAsync(
                (root, ports) => etcd = new EtcdProcess(root, ports[0], ports[1]),
                (node, yaml) => Rewire(node, yaml, etcd!, proxies, synchronous));
            return new ChaosCluster(cluster, proxies, synchronous);
        }
        catch
        {
            foreach (var p in proxies.Values.SelectMany(p => p.All)) await p.DisposeAsync();
            throw;
        }
    }

    private static string Rewire(ClusterNode node, string yaml, EtcdProcess etcd, Dictionary<string, NodeProxies> proxies, bool synchronous)
    {
        var loopback = IPAddress.Loopback;
        var set = new NodeProxies(
            new FaultProxy($"{node.Name}→etcd", new IPEndPoint(loopback, etcd.ClientPort)).Start(),
            new FaultProxy($"peers→{node.Name} REST", new IPEndPoint(loopback, node.RestPort)).Start(),
            new FaultProxy($"peers→{node.Name} PostgreSQL", new IPEndPoint(loopback, node.PgPort)).Start());
        proxies[node.Name] = set;
        var rewired = Replace(yaml, $"hosts: {etcd.Endpoint}", $"hosts: {set.Dcs.Endpoint}");
        rewired = Replace(rewired, $"connect_address: 127.0.0.1:{node.RestPort}", $"connect_address: {set.Rest.Endpoint}");
        rewired = Replace(rewired, $"connect_address: 127.0.0.1:{node.PgPort}", $"connect_address: {set.Postgres.Endpoint}");
        if (synchronous) rewired = Replace(rewired, "\nbootstrap:\n  dcs:\n", "\nbootstrap:\n  dcs:\n    synchronous_mode: true\n");
        return rewired;
    }

    /// <summary>Replaces exactly one occurrence, so a change in the harness's YAML fails loudly instead of silently bypassing a proxy.</summary>
    private static string Replace(string text, string old, string replacement)
    {
        var at = text.IndexOf(old, StringComparison.Ordinal);
        if (at < 0 || text.IndexOf(old, at + 1, StringComparison.Ordinal) >= 0)
            throw new InvalidOperationException($"the node YAML should contain '{old.Replace("\n", "\\n", StringComparison.Ordinal)}' exactly once:\n{text}");
        return string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + old.Length));
    }

    /// <summary>Every proxy back to passing traffic.</summary>
    public void HealProxies()
    {
        foreach (var p in _proxies.Values.SelectMany(p => p.All)) p.Heal();
    }

    /// <summary>What every proxy is doing now (for traces).</summary>
    public string ProxyStates()
    {
        var sb = new StringBuilder();
        foreach (var p in _proxies.Values.SelectMany(p => p.All)) sb.Append("  ").Append(p).Append('\n');
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        // The cluster first: its agents must still reach etcd to stop in order.
        HealProxies();
        await Cluster.DisposeAsync();
        foreach (var p in _proxies.Values.SelectMany(p => p.All)) await p.DisposeAsync();
    }
}
