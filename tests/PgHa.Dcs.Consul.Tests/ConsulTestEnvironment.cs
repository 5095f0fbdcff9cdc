using System.Net;
using System.Net.Sockets;
using PgHa.ConsulTestServer;

namespace PgHa.Dcs.Consul.Tests;

/// <summary>One in-process Consul API test server shared by the tests of this assembly.</summary>
/// <remarks>
/// Its minimum session TTL is lowered to 1 s (Consul's default is 10 s, which <c>ConsulStoreTests</c> checks is
/// enforced by default): the conformance suite then locks with a 5 s ttl (2.5 s sessions) and its expiry tests take
/// seconds, not the 20 s + 20 s that Consul's minimum would force.
/// </remarks>
[SetUpFixture]
public sealed class ConsulTestEnvironment
{
    private static ConsulTestServer.ConsulTestServer? _shared;

    /// <summary>The shared server.</summary>
    public static ConsulTestServer.ConsulTestServer Shared => _shared ?? throw new InvalidOperationException("the Consul test server is not started");

    /// <summary>Settings of the shared server (and of servers tests start for themselves).</summary>
    public static ConsulTestServerOptions ServerOptions() => new() { SessionTtlMin = TimeSpan.FromSeconds(1) };

    [OneTimeSetUp]
    public async Task StartAsync() => _shared = await ConsulTestServer.ConsulTestServer.StartAsync(ServerOptions());

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_shared is not null) await _shared.DisposeAsync();
    }

    /// <summary>Adapter options for one member of <paramref name="scope"/> on the shared server.</summary>
    public static ConsulDcsOptions Options(string scope, string member, TimeSpan? requestTimeout = null, Uri? address = null) => new()
    {
        Address = address ?? Shared.Address,
        Scope = scope,
        Name = member,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
    };

    /// <summary>A port taken from the OS and released: nothing listens there.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
