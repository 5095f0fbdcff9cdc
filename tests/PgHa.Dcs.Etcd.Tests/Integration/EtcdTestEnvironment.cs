namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// Starts the etcd server the integration tests share (each test works in a scope of its own) once for the namespace,
/// and kills it and deletes its data at the end. Fails when etcd is not installed, unless PGHA_ALLOW_MISSING_SERVERS=1.
/// </summary>
[SetUpFixture]
public sealed class EtcdTestEnvironment
{
    private static EtcdServer? _shared;

    /// <summary>The shared server.</summary>
    internal static EtcdServer Shared => _shared ?? throw new InvalidOperationException("the shared etcd server is not running");

    [OneTimeSetUp]
    public async Task StartSharedServerAsync() => _shared = await EtcdServer.StartAsync("pgha-shared");

    [OneTimeTearDown]
    public async Task StopSharedServerAsync()
    {
        if (_shared is not null) await _shared.DisposeAsync();
        _shared = null;
    }

    /// <summary>Options for member <paramref name="name"/> of <paramref name="scope"/> on <paramref name="server"/> (the shared one by default).</summary>
    internal static EtcdDcsOptions Options(string scope, string name, EtcdServer? server = null, TimeSpan? requestTimeout = null) => new()
    {
        Endpoints = [(server ?? Shared).Endpoint],
        Scope = scope,
        Name = name,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
    };

    /// <summary>A fresh scope name for one test.</summary>
    internal static string NewScope() => "pgha-etcd-" + Guid.NewGuid().ToString("N")[..12];
}
