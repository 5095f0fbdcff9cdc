using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// An etcd that demands TLS with client certificates and has authentication enabled, as production clusters do:
/// Patroni's <c>cacert</c>/<c>cert</c>/<c>key</c> and <c>username</c>/<c>password</c> settings get PgHa in, and every
/// missing or wrong piece is refused with <see cref="DcsUnavailableException"/>.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdSecurityTests
{
    private const string RootPassword = "s3cret-Pa55";

    private string _dir = null!;
    private EtcdServer _server = null!;
    private string _ca = null!;
    private string _clientCert = null!;
    private string _clientKey = null!;
    private string _namedClientCert = null!;
    private string _namedClientKey = null!;
    private string _strangerCa = null!;

    [OneTimeSetUp]
    public async Task StartSecuredServerAsync()
    {
        EtcdServer.RequireBinary();
        _dir = Path.Combine(Path.GetTempPath(), "pgha-etcd-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa("PgHa test CA", caKey);
        using var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = CreateCa("Someone else's CA", strangerKey);
        _ca = Write("ca.pem", ca.ExportCertificatePem());
        _strangerCa = Write("stranger-ca.pem", stranger.ExportCertificatePem());
        var (serverCert, serverKey) = Issue(ca, caKey, "etcd", server: true);
        // etcd's JSON gateway refuses client certificates with a CommonName while authentication is on (the name cannot
        // be passed on as the user), so a node authenticating by password presents one without CN, as Patroni's must.
        (_clientCert, _clientKey) = Issue(ca, caKey, "pgha-node", server: false, subject: "O=pgha-node");
        (_namedClientCert, _namedClientKey) = Issue(ca, caKey, "pgha-named", server: false);

        // Tokens unused for 2 s expire (default 300 s), so a test can see the node authenticate again.
        _server = await EtcdServer.StartAsync("pgha-tls", new EtcdServer.TlsFiles(_ca, serverCert, serverKey, _clientCert, _clientKey), "--auth-token-ttl", "2");
        // Turn authentication on: root user with the root role, as etcdctl user add root / auth enable would.
        using var admin = _server.CreateRawClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20), TimeProvider.System);
        await admin.PostAsync("/v3/auth/user/add", new() { ["name"] = "root", ["password"] = RootPassword }, timeout.Token);
        await admin.PostAsync("/v3/auth/user/grant", new() { ["user"] = "root", ["role"] = "root" }, timeout.Token);
        await admin.PostAsync("/v3/auth/enable", new(), timeout.Token);
    }

    [OneTimeTearDown]
    public async Task StopSecuredServerAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>CA, client certificate and credentials together: the node reads, locks, publishes and cleans up, and another node's watch (and the loads it feeds) sees it.</summary>
    [Test]
    public async Task ConnectsWithCaClientCertificateAndPassword()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30), TimeProvider.System);
        var options = Options();
        await using var node = new EtcdDcs(options, TimeProvider.System);
        var watcherOptions = Options();
        watcherOptions.Scope = options.Scope;
        watcherOptions.Name = "node2";
        await using var watcher = new EtcdDcs(watcherOptions, TimeProvider.System);
        await watcher.LoadClusterAsync(deadline.Token);
        Assert.That(await watcher.WaitForChangeAsync(TimeSpan.FromMilliseconds(500), deadline.Token), Is.False, "the watch starts");
        await watcher.LoadClusterAsync(deadline.Token);
        var woken = watcher.WaitForChangeAsync(TimeSpan.FromSeconds(20), deadline.Token);

        Assert.That((await node.LoadClusterAsync(deadline.Token)).IsUnlocked, Is.True);
        Assert.That(await node.TryAcquireLeaderLockAsync(TimeSpan.FromSeconds(10), deadline.Token), Is.Not.Null);
        Assert.That((await node.LoadClusterAsync(deadline.Token)).LeaderName, Is.EqualTo("node1"));
        Assert.That(await woken.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, deadline.Token), Is.True, "the watch works over TLS with authentication");
        Assert.That((await watcher.LoadClusterAsync(deadline.Token)).LeaderName, Is.EqualTo("node1"));
        await node.DeleteClusterAsync(deadline.Token);
    }

    /// <summary>etcd drops a token left unused for its TTL and then calls it invalid: the node authenticates again by itself and goes on.</summary>
    [Test]
    public async Task AfterTheTokenExpiredTheNodeAuthenticatesAgain()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        var options = Options();
        await using var node = new EtcdDcs(options, TimeProvider.System);
        var held = await node.TryAcquireLeaderLockAsync(TimeSpan.FromSeconds(30), deadline.Token);
        Assert.That(held, Is.Not.Null);

        await Task.Delay(TimeSpan.FromSeconds(3.5), TimeProvider.System, deadline.Token); // past the server's --auth-token-ttl 2

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await node.TryRenewLeaderLockAsync(held!, TimeSpan.FromSeconds(30), deadline.Token), Is.Not.Null, "renewed with a new token");
            Assert.That((await node.LoadClusterAsync(deadline.Token)).LeaderName, Is.EqualTo("node1"));
        }
        await node.DeleteClusterAsync(deadline.Token);
    }

    /// <summary>Each missing or wrong piece is refused as "DCS unavailable", never as a lost race.</summary>
    /// <param name="broken">What is wrong with the settings.</param>
    [TestCase("wrong password")]
    [TestCase("no credentials")]
    [TestCase("no client certificate")]
    [TestCase("server certificate from an untrusted CA")]
    [TestCase("plain http")]
    [TestCase("client certificate with a CommonName")]
    public async Task MissingOrWrongSecuritySettingsAreRefusedAsUnavailable(string broken)
    {
        var options = Options();
        options.RequestTimeout = TimeSpan.FromSeconds(1); // refused handshakes are retried until the deadline
        switch (broken)
        {
            case "wrong password": options.Password = "wrong"; break;
            case "no credentials": options.Username = options.Password = null; break;
            case "no client certificate": options.Cert = options.Key = null; break;
            case "server certificate from an untrusted CA": options.CaCert = _strangerCa; break;
            case "plain http": options.CaCert = options.Cert = options.Key = null; options.Protocol = "http"; break;
            case "client certificate with a CommonName": options.Cert = _namedClientCert; options.Key = _namedClientKey; break;
            default: throw new ArgumentOutOfRangeException(nameof(broken), broken, "unknown case");
        }
        await using var node = new EtcdDcs(options, TimeProvider.System);

        var refused = Throws.TypeOf<DcsUnavailableException>().With.Message.Contain(_server.Endpoint).And.Message.Contain("acquire the leader lock");
        // etcd's refusal is final: the message says what to change rather than that etcd did not answer in time.
        if (broken == "client certificate with a CommonName") refused = refused.And.Message.Contain("without a CommonName");
        Assert.That(async () => await node.TryAcquireLeaderLockAsync(TimeSpan.FromSeconds(10), CancellationToken.None), refused);
    }

    private EtcdDcsOptions Options()
    {
        var options = EtcdTestEnvironment.Options(EtcdTestEnvironment.NewScope(), "node1", _server, TimeSpan.FromSeconds(3));
        options.CaCert = _ca;
        options.Cert = _clientCert;
        options.Key = _clientKey;
        options.Username = "root";
        options.Password = RootPassword;
        return options;
    }

    private static X509Certificate2 CreateCa(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private (string Cert, string Key) Issue(X509Certificate2 ca, ECDsa caKey, string name, bool server, string? subject = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject ?? $"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        // etcd checks clientAuth on its own peer/client certificates too, so both get both usages.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }
        var now = TimeProvider.System.GetUtcNow();
        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddDays(-1), now.AddDays(30), serial);
        return (Write($"{name}.pem", issued.ExportCertificatePem()), Write($"{name}-key.pem", key.ExportPkcs8PrivateKeyPem()));
    }

    private string Write(string file, string pem)
    {
        var path = Path.Combine(_dir, file);
        File.WriteAllText(path, pem);
        return path;
    }
}
