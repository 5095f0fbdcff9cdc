using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Host.Configuration;
using PgHa.Loop;
using PgHa.Operations;
using PgHa.Testing;

namespace PgHa.Host.Tests.Rest;

/// <summary>
/// A running REST API over an in-memory DCS holding a three-member cluster (node1 leads, node2 and node3 replicate),
/// with recorded operator actions. Answers as node1 unless told otherwise.
/// </summary>
internal sealed class RestFixture : IAsyncDisposable
{
    public const string Config = """{"ttl":30,"loop_wait":10,"retry_timeout":10,"postgresql":{"parameters":{"max_connections":100},"use_pg_rewind":true}}""";

    private RestFixture(InMemoryDcsStore store, InMemoryDcs[] nodes, RestApiServer server, HttpClient client, FakeOperations operations)
    {
        Store = store;
        Nodes = nodes;
        Server = server;
        Client = client;
        Operations = operations;
    }

    public InMemoryDcsStore Store { get; }
    public InMemoryDcs[] Nodes { get; }
    public RestApiServer Server { get; }
    public HttpClient Client { get; }
    public FakeOperations Operations { get; }
    public NodeSnapshot Snapshot { get; set; } = null!;
    public string Prefix => Nodes[0].Prefix;

    public static async Task<RestFixture> StartAsync(RestApiConfig? security = null, bool paused = false, Func<RestApiServerOptions, RestApiServerOptions>? configure = null, HttpClient? client = null)
    {
        var store = new InMemoryDcsStore(TimeProvider.System);
        var nodes = new[] { "node1", "node2", "node3" }.Select(n => new InMemoryDcs(store, "service", "batman", n)).ToArray();
        var ttl = TimeSpan.FromSeconds(30);
        await nodes[0].TryAcquireLeaderLockAsync(ttl, CancellationToken.None);
        var config = paused ? Config.Replace("\"ttl\":30", "\"ttl\":30,\"pause\":true", StringComparison.Ordinal) : Config;
        await nodes[0].TryWriteAsync(ClusterKey.Config, config, WriteCondition.Always, CancellationToken.None);
        await nodes[0].TryWriteAsync(ClusterKey.Initialize, "7712269356054531944", WriteCondition.Always, CancellationToken.None);
        await nodes[0].TrySetStatusAsync(ClusterStatus.FromOptime(RestTestNodes.LeaderOptime), WriteCondition.Always, CancellationToken.None);
        await nodes[0].TryWriteAsync(ClusterKey.History, """[[1,25165984,"no recovery target specified","2030-01-01T11:00:00+00:00","node1"]]""", WriteCondition.Always, CancellationToken.None);
        for (var i = 0; i < nodes.Length; i++)
        {
            var name = nodes[i].MemberName;
            await nodes[i].TouchMemberAsync(new Member(name)
            {
                ConnUrl = $"postgres://127.0.0.{i + 1}:5432/postgres", ApiUrl = $"http://127.0.0.1:{8008 + i}/patroni", State = "running",
                Role = i == 0 ? MemberRole.Primary : MemberRole.Replica, AgentVersion = "3.0.2", XlogLocation = RestTestNodes.LeaderOptime - 100 * i, Timeline = 2,
            }, ttl, CancellationToken.None);
        }
        var operations = new FakeOperations();
        var port = FreePort();
        RestFixture? fixture = null;
        var options = new RestApiServerOptions
        {
            Listen = $"127.0.0.1:{port}",
            Snapshot = () => fixture!.Snapshot,
            Dcs = nodes[0],
            Operations = operations,
            Security = security?.ToSecurity(),
            SwitchoverPollInterval = TimeSpan.FromMilliseconds(20),
        };
        if (configure is not null) options = configure(options);
        var server = await RestApiServer.StartAsync(options, CancellationToken.None);
        var scheme = security?.CertFile is null ? "http" : "https";
        client ??= new HttpClient();
        client.BaseAddress = new Uri($"{scheme}://127.0.0.1:{port}");
        fixture = new RestFixture(store, nodes, server, client, operations);
        var cluster = await nodes[0].LoadClusterAsync(CancellationToken.None);
        var leader = RestTestNodes.Node(RestTestNodes.Primary, leader: true, paused: paused);
        fixture.Snapshot = leader with
        {
            Memory = leader.Memory with { LockValidUntil = TimeProvider.System.GetUtcNow().AddSeconds(30) },
            LastCycle = leader.LastCycle! with { At = TimeProvider.System.GetUtcNow(), Cluster = cluster },
        };
        return fixture;
    }

    /// <summary>Every key of the cluster as stored, to prove a request changed nothing.</summary>
    public string Dump() => string.Join("\n", Store.ReadAll(Prefix).Select(e => $"{e.Key}={e.Value}"));

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        foreach (var n in Nodes) await n.DisposeAsync();
    }
}

/// <summary>Records operator actions and answers as configured.</summary>
internal sealed class FakeOperations : INodeOperations, IFailsafeReceiver
{
    public List<FailsafePing> FailsafePings { get; } = [];
    public FailsafeAnswer FailsafeAnswer { get; set; } = FailsafeAnswer.Accepted;

    public FailsafeAnswer AcceptFailsafe(FailsafePing ping)
    {
        lock (FailsafePings) FailsafePings.Add(ping);
        return FailsafeAnswer;
    }

    public int Wakes;
    public int Reloads;
    public List<RestartRequest> Restarts { get; } = [];
    public OperationResult RestartResult { get; set; } = new(true, "restarted successfully");
    public string? ReinitializeRefusal { get; set; }
    public List<bool> Reinitializes { get; } = [];

    public ScheduledRestart? ScheduledRestart { get; private set; }

    public void Wake() => Interlocked.Increment(ref Wakes);

    public Task<OperationResult> RestartAsync(RestartRequest request, CancellationToken cancellationToken)
    {
        lock (Restarts) Restarts.Add(request);
        return Task.FromResult(RestartResult);
    }

    public bool ScheduleRestart(RestartRequest request)
    {
        if (ScheduledRestart is not null) return false;
        ScheduledRestart = new ScheduledRestart(request, null);
        return true;
    }

    public bool CancelScheduledRestart()
    {
        if (ScheduledRestart is null) return false;
        ScheduledRestart = null;
        return true;
    }

    public Task<string?> ReinitializeAsync(bool force, CancellationToken cancellationToken)
    {
        lock (Reinitializes) Reinitializes.Add(force);
        return Task.FromResult(ReinitializeRefusal);
    }

    public void ReloadPostgres() => Interlocked.Increment(ref Reloads);
}
