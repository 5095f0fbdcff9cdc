using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>The state of a healthy cluster: one leader (holding the DCS lock, running as primary) and two streaming replicas on its timeline.</summary>
internal sealed record ClusterHealth(ClusterNode Leader, IReadOnlyList<ClusterNode> Replicas, long Timeline, string Description);

/// <summary>
/// A three-node PgHa cluster on a private etcd, everything in one temporary directory and on free loopback ports:
/// etcd, three <c>pgha run</c> processes (their output in nodeN.log), and whatever they start (PostgreSQL, fencers).
/// <see cref="DisposeAsync"/> stops all of it, always: SIGTERM to the agents, then SIGKILL to whatever still runs with
/// this directory on its command line (postmasters, pgha-fencer.sh) and to etcd.
/// </summary>
internal sealed class PgHaCluster : IAsyncDisposable
{
    public const string Scope = "pgha-e2e";
    public const int TtlSeconds = 10;
    public const int LoopWaitSeconds = 2;
    public const int RetryTimeoutSeconds = 3;
    public const long MaximumLagOnFailover = 1048576;
    public const string SuperuserPassword = "postgres-secret";
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(TtlSeconds);
    public static readonly TimeSpan LoopWait = TimeSpan.FromSeconds(LoopWaitSeconds);
    public static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(RetryTimeoutSeconds);

    private bool _disposed;

    private PgHaCluster(string root, IClusterDcs dcs, IReadOnlyList<ClusterNode> nodes)
    {
        Root = root;
        Dcs = dcs;
        Nodes = nodes;
    }

    public string Root { get; }

    /// <summary>The DCS server the cluster runs on.</summary>
    public IClusterDcs Dcs { get; }

    /// <summary>The etcd server, for scenarios that look at etcd itself (leases, raw keys).</summary>
    public EtcdProcess Etcd => Dcs as EtcdProcess ?? throw new InvalidOperationException($"this cluster runs on {Dcs.GetType().Name}, not etcd");
    public IReadOnlyList<ClusterNode> Nodes { get; }
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(2) };
    public string KeyPrefix => $"/service/{Scope}/";

    /// <summary>Writes the configuration and starts etcd and the three agents (does not wait for them).</summary>
    public static Task<PgHaCluster> StartAsync() => StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]));

    /// <summary>
    /// Writes the configuration and starts the DCS made by <paramref name="createDcs"/> (from the cluster's directory and
    /// two free loopback ports) and the three agents (does not wait for them).
    /// </summary>
    public static Task<PgHaCluster> StartAsync(Func<string, IReadOnlyList<int>, IClusterDcs> createDcs) => StartAsync(createDcs, configure: null);

    /// <summary>
    /// As <see cref="StartAsync(Func{string, IReadOnlyList{int}, IClusterDcs})"/>, and <paramref name="configure"/> (when
    /// given) turns each node's default YAML into the YAML it runs with — for suites that route a node's DCS or peer
    /// traffic through a proxy, or add bootstrap settings.
    /// </summary>
    public static async Task<PgHaCluster> StartAsync(Func<string, IReadOnlyList<int>, IClusterDcs> createDcs, Func<ClusterNode, string, string>? configure)
    {
        var root = Directory.CreateTempSubdirectory("pgha-e2e-").FullName;
        var ports = E2eEnvironment.FreePorts(8);
        var dcs = createDcs(root, ports.Take(2).ToList());
        var nodes = Enumerable.Range(1, 3).Select(i => new ClusterNode(root, $"node{i}", ports[2 * i], ports[2 * i + 1])).ToList();
        var cluster = new PgHaCluster(root, dcs, nodes);
        try
        {
            await dcs.StartAsync();
            foreach (var node in nodes)
            {
                Directory.CreateDirectory(node.Dir);
                var yaml = node.Yaml(Scope, dcs.YamlSection);
                await File.WriteAllTextAsync(node.ConfigPath, configure is null ? yaml : configure(node, yaml));
            }
            foreach (var node in nodes) node.StartAgent();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public ClusterNode Node(string name) => Nodes.Single(n => n.Name == name);

    public ClusterNode? NodeByPort(int port) => Nodes.FirstOrDefault(n => n.PgPort == port);

    /// <summary>The value of <c>/service/&lt;scope&gt;/leader</c>, or null when there is none (or the DCS does not answer).</summary>
    public Task<string?> DcsLeaderAsync() => Dcs.LeaderAsync(KeyPrefix);

    /// <summary>
    /// Waits until the DCS names a leader that runs as primary, the two others are streaming replicas on its timeline
    /// (their /patroni), and the leader's pg_stat_replication shows both streaming. Fails with the last observation and
    /// the logs when that does not happen within <paramref name="timeout"/>.
    /// </summary>
    public async Task<ClusterHealth> WaitForHealthyAsync(TimeSpan timeout, string context)
    {
        var started = TimeProvider.System.GetTimestamp();
        var observed = "";
        while (true)
        {
            (var health, observed) = await ObserveAsync();
            if (health is not null) return health;
            if (TimeProvider.System.GetElapsedTime(started) > timeout) break;
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        Assert.Fail($"{context}: the cluster did not reach one leader and two streaming replicas within {timeout.TotalSeconds:0} s. Last observed: {observed}{Diagnostics()}");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>One look at the cluster: the healthy state, or null and what was seen.</summary>
    public async Task<(ClusterHealth? Health, string Observed)> ObserveAsync()
    {
        var leaderName = await DcsLeaderAsync();
        var statuses = await Task.WhenAll(Nodes.Select(n => n.StatusAsync(Http)));
        var sb = new StringBuilder($"DCS leader={leaderName ?? "(none)"}");
        for (var i = 0; i < Nodes.Count; i++) sb.Append("; ").Append(Nodes[i].Name).Append(": ").Append(Describe(statuses[i]));
        var leader = Nodes.FirstOrDefault(n => n.Name == leaderName);
        if (leader is null) return (null, sb.ToString());
        var leaderStatus = statuses[Nodes.ToList().IndexOf(leader)];
        if (leaderStatus is null || Str(leaderStatus, "role") != "master" || Str(leaderStatus, "state") != "running") return (null, sb.ToString());
        var timeline = Long(leaderStatus, "timeline");
        var replicas = Nodes.Where(n => n != leader).ToList();
        foreach (var replica in replicas)
        {
            var s = statuses[Nodes.ToList().IndexOf(replica)];
            if (s is null || Str(s, "role") != "replica" || Str(s, "state") != "running" || Str(s, "replication_state") != "streaming" || Long(s, "timeline") != timeline)
                return (null, sb.ToString());
        }
        List<string> streaming;
        try
        {
            streaming = [.. (await leader.QueryAsync("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'", 2)).Select(r => (string)r[0]!)];
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return (null, sb.Append("; leader SQL failed: ").Append(ex.Message).ToString());
        }
        sb.Append("; leader's pg_stat_replication streaming: [").Append(string.Join(", ", streaming)).Append(']');
        if (!replicas.All(r => streaming.Contains(r.Name))) return (null, sb.ToString());
        return (new ClusterHealth(leader, replicas, timeline ?? 0, sb.ToString()), sb.ToString());
    }

    private static string Describe(JsonObject? s) => s is null
        ? "(no REST answer)"
        : $"{Str(s, "role")}/{Str(s, "state")}{(Str(s, "replication_state") is { } r ? "/" + r : "")} TL{Long(s, "timeline")?.ToString(CultureInfo.InvariantCulture) ?? "?"}";

    public static string? Str(JsonObject s, string key) => s[key] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;

    public static long? Long(JsonObject s, string key) => s[key] is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;

    /// <summary>The last 100 lines of every agent's log, etcd's log and each node's fencer and PostgreSQL logs (fewer lines), for failure messages.</summary>
    public string Diagnostics(int lines = 100)
    {
        var sb = new StringBuilder();
        foreach (var node in Nodes)
        {
            sb.Append($"\n\n==== {node.LogPath} (last {lines} lines) ====\n").Append(ProcessLauncher.Tail(node.LogPath, lines));
        }
        foreach (var node in Nodes)
        {
            sb.Append($"\n\n==== {node.StateDir}/fencer.log (last 10) ====\n").Append(ProcessLauncher.Tail(Path.Combine(node.StateDir, "fencer.log"), 10));
            sb.Append($"\n\n==== {node.StateDir}/postgresql.log (last 30) ====\n").Append(ProcessLauncher.Tail(Path.Combine(node.StateDir, "postgresql.log"), 30));
        }
        sb.Append($"\n\n==== {Dcs.LogPath} (last 30) ====\n").Append(ProcessLauncher.Tail(Dcs.LogPath, 30));
        return sb.ToString();
    }

    /// <summary>Stops everything, always: agents (SIGTERM, then SIGKILL), leftovers of this directory (postmasters, fencers), etcd; removes the directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (Dcs.IsFrozen) Dcs.Thaw();
        // Orderly first: each agent stops its PostgreSQL and releases the lock.
        await Task.WhenAll(Nodes.Select(n => n.StopAgentAsync(TimeSpan.FromSeconds(30))));
        // Whatever is left with this directory on its command line: postmasters (-D <dir>/nodeN/data), pgha-fencer.sh
        // (its data and state directories are arguments), the sh wrappers — and their children (backends).
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var leftovers = Os.MatchingWithDescendants(Root).Where(p => p.Pid != Dcs.Pid).ToList();
            if (leftovers.Count == 0) break;
            foreach (var p in leftovers) Os.Signal(p.Pid, Os.SIGKILL);
            foreach (var p in leftovers) await Os.WaitForExitAsync(p.Pid, TimeSpan.FromSeconds(2));
        }
        await Dcs.DisposeAsync();
        Http.Dispose();
        if (Environment.GetEnvironmentVariable("PGHA_E2E_KEEP") == "1")
        {
            await TestContext.Progress.WriteLineAsync($"PGHA_E2E_KEEP=1: left {Root} in place");
            return;
        }
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
