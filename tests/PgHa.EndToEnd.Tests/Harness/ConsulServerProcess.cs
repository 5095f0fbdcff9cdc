using PgHa.ConsulTestServer;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// The Consul API test server (tests/PgHa.ConsulTestServer) on a free loopback port, in this test process: no Consul
/// server can be installed here. Freezing holds every request unanswered, as a SIGSTOPped agent would; its session
/// timers keep running (a stopped Consul would invalidate the overdue sessions the moment it resumed).
/// </summary>
/// <remarks>
/// The cluster's ttl is 10 s, so sessions are 5 s: below Consul's default <c>session_ttl_min</c> of 10 s, which the
/// server therefore lowers to 1 s, as an operator of a real Consul would.
/// </remarks>
internal sealed class ConsulServerProcess : IClusterDcs
{
    private readonly int _port;
    private ConsulTestServer.ConsulTestServer? _server;

    public ConsulServerProcess(string root, int port)
    {
        _port = port;
        LogPath = Path.Combine(root, "consul.log");
    }

    public ConsulTestServer.ConsulTestServer Server => _server ?? throw new InvalidOperationException("the Consul test server is not started");

    public string YamlSection => $"consul:\n  host: 127.0.0.1:{_port}";

    public string LogPath { get; }

    public int Pid => 0;

    public bool IsFrozen => _server?.IsFrozen ?? false;

    public async Task StartAsync()
    {
        _server = await ConsulTestServer.ConsulTestServer.StartAsync(new ConsulTestServerOptions { Port = _port, SessionTtlMin = TimeSpan.FromSeconds(1) });
        await File.WriteAllTextAsync(LogPath, $"in-process Consul API test server at {_server.Address} (session TTL min 1 s)\n");
    }

    public void Freeze()
    {
        Server.Freeze();
        File.AppendAllText(LogPath, "frozen\n");
    }

    public void Thaw()
    {
        Server.Thaw();
        File.AppendAllText(LogPath, "thawed\n");
    }

    /// <summary>The leader key read from the store directly (Consul keys have no leading slash); null while frozen, as an unanswering server.</summary>
    public Task<string?> LeaderAsync(string keyPrefix)
    {
        if (_server is null || _server.IsFrozen) return Task.FromResult<string?>(null);
        var entry = _server.Store.Read(keyPrefix.TrimStart('/') + "leader", recurse: false).Entries.SingleOrDefault();
        return Task.FromResult(entry is null ? null : System.Text.Encoding.UTF8.GetString(entry.Value));
    }

    /// <summary>Every key under the cluster prefix, as <c>consul kv get -recurse</c> would list it.</summary>
    public IReadOnlyList<KvEntry> Keys(string keyPrefix) => Server.Store.Read(keyPrefix.TrimStart('/'), recurse: true).Entries;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
