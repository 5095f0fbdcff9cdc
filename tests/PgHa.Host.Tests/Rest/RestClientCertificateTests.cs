using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Rest;

/// <summary>
/// <c>restapi.verify_client: required</c>: every connection must present a client certificate the configured
/// <c>cafile</c> vouches for. Without one, or with one from another CA, the TLS handshake is refused; with one signed
/// by the CA, health checks and unsafe endpoints answer.
/// </summary>
[TestFixture]
public sealed class RestClientCertificateTests
{
    private DirectoryInfo _dir = null!;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _server = null!;
    private RestApiConfig _section = null!;

    [OneTimeSetUp]
    public async Task WriteTheCertificatesAsync()
    {
        _dir = Directory.CreateTempSubdirectory("pgha-rest-mtls-");
        _ca = Authority("CN=pgha test CA");
        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        using (var issued = serverRequest.Create(_ca, Now.AddDays(-1), Now.AddDays(1), [1]))
            _server = issued.CopyWithPrivateKey(serverKey);
        var certFile = Path.Combine(_dir.FullName, "server.crt");
        var keyFile = Path.Combine(_dir.FullName, "server.key");
        var caFile = Path.Combine(_dir.FullName, "ca.crt");
        await File.WriteAllTextAsync(certFile, _server.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, serverKey.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(caFile, _ca.ExportCertificatePem());
        _section = new RestApiConfig
        {
            Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008),
            CertFile = certFile, KeyFile = keyFile, CaFile = caFile, VerifyClient = ClientCertificateMode.Required,
        };
    }

    [OneTimeTearDown]
    public void DeleteTheCertificates()
    {
        _server.Dispose();
        _ca.Dispose();
        _dir.Delete(recursive: true);
    }

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private static X509Certificate2 Authority(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(Now.AddDays(-2), Now.AddDays(2));
    }

    /// <summary>A client certificate (clientAuth) issued by <paramref name="issuer"/>, with its key, loadable by SslStream.</summary>
    private static X509Certificate2 Client(X509Certificate2 issuer)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=pgha-ctl", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var issued = request.Create(issuer, Now.AddDays(-1), Now.AddDays(1), [2]);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    }

    private HttpClientHandler Handler(X509Certificate2? clientCertificate)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == _server.Thumbprint,
            ClientCertificateOptions = ClientCertificateOption.Manual,
        };
        if (clientCertificate is not null) handler.ClientCertificates.Add(clientCertificate);
        return handler;
    }

    [Test]
    public async Task ARequestWithoutAClientCertificateIsRefused()
    {
        await using var f = await RestFixture.StartAsync(_section, client: new HttpClient(Handler(null)));

        Assert.That(async () => (await f.Client.GetAsync("/primary")).Dispose(), Throws.InstanceOf<HttpRequestException>());
        Assert.That(async () => (await f.Client.PostAsync("/reload", null)).Dispose(), Throws.InstanceOf<HttpRequestException>());
        Assert.That(f.Operations.Reloads, Is.Zero);
    }

    [Test]
    public async Task ACertificateFromAnotherAuthorityIsRefused()
    {
        using var rogueCa = Authority("CN=someone else's CA");
        using var rogue = Client(rogueCa);
        await using var f = await RestFixture.StartAsync(_section, client: new HttpClient(Handler(rogue)));

        Assert.That(async () => (await f.Client.PostAsync("/reload", null)).Dispose(), Throws.InstanceOf<HttpRequestException>());
        Assert.That(f.Operations.Reloads, Is.Zero);
    }

    [Test]
    public async Task ACertificateSignedByTheConfiguredAuthorityIsAccepted()
    {
        using var client = Client(_ca);
        await using var f = await RestFixture.StartAsync(_section, client: new HttpClient(Handler(client)));

        using var health = await f.Client.GetAsync("/primary");
        using var reload = await f.Client.PostAsync("/reload", null);

        Assert.That(f.Client.BaseAddress!.Scheme, Is.EqualTo("https"));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(reload.IsSuccessStatusCode, Is.True, await reload.Content.ReadAsStringAsync());
        Assert.That(f.Operations.Reloads, Is.EqualTo(1));
    }
}
