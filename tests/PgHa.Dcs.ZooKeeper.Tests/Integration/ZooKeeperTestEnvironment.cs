using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>
/// Starts the standalone ZooKeeper the integration tests share (each test works under a path of its own) once for the
/// namespace, and kills it and deletes its data at the end.
/// </summary>
[SetUpFixture]
public sealed class ZooKeeperTestEnvironment
{
    private static ZooKeeperServer? _shared;

    internal static ZooKeeperServer Shared => _shared ?? throw new InvalidOperationException("the shared ZooKeeper server is not running");

    [OneTimeSetUp]
    public async Task StartSharedServerAsync() => _shared = await ZooKeeperServer.StartStandaloneAsync();

    [OneTimeTearDown]
    public async Task StopSharedServerAsync()
    {
        if (_shared is not null) await _shared.DisposeAsync();
        _shared = null;
    }

    /// <summary>Adapter options for member <paramref name="name"/> of <paramref name="scope"/> on the shared server.</summary>
    internal static ZooKeeperDcsOptions Options(string scope, string name, TimeSpan? requestTimeout = null) => new()
    {
        Hosts = [Shared.Endpoint],
        Scope = scope,
        Name = name,
        Ttl = TimeSpan.FromSeconds(4),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
        ServerTickTime = ZooKeeperServer.TickTime,
    };

    /// <summary>A raw client of <paramref name="servers"/> (the shared server by default).</summary>
    internal static ZooKeeperClient Client(TimeSpan? sessionTimeout = null, TimeSpan? pingInterval = null,
        IReadOnlyList<KeyValuePair<string, byte[]>>? auth = null, params ZooKeeperServer[] servers) =>
        new(new ZooKeeperClientOptions
        {
            Hosts = servers.Length == 0 ? [Shared.DnsEndpoint] : [.. servers.Select(s => s.DnsEndpoint)],
            SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            ReadTimeout = TimeSpan.FromSeconds(3),
            PingInterval = pingInterval,
            Auth = auth ?? [],
        }, TimeProvider.System);

    /// <summary>A fresh path for one test.</summary>
    internal static string NewPath() => "/pgha-zk-test-" + Guid.NewGuid().ToString("N")[..12];
}
