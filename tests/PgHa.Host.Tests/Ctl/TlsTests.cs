using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgHa.Cluster;
using PgHa.Host.Configuration;
using PgHa.Host.Tests.Rest;

namespace PgHa.Host.Tests.Ctl;

/// <summary><c>pgha ctl</c> over HTTPS: the server is verified against <c>ctl.cacert</c> (or not, with <c>-k</c>) and the client certificate is presented.</summary>
[TestFixture]
public sealed class TlsTests
{
    private DirectoryInfo _dir = null!;
    private string _ca = null!, _serverCert = null!, _serverKey = null!, _clientCert = null!, _clientKey = null!;

    [OneTimeSetUp]
    public void MakeCertificates()
    {
        _dir = Directory.CreateTempSubdirectory("pgha-ctl-tls-");
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=pgha ctl test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = TimeProvider.System.GetUtcNow();
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-2), now.AddDays(2));
        (_serverCert, _serverKey) = Issue(ca, "CN=127.0.0.1", server: true, now);
        (_clientCert, _clientKey) = Issue(ca, "CN=pgha-ctl", server: false, now);
        _ca = Path.Combine(_dir.FullName, "ca.crt");
        File.WriteAllText(_ca, ca.ExportCertificatePem());
    }

    private (string Cert, string Key) Issue(X509Certificate2 ca, string subject, bool server, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
        var name = server ? "server" : "client";
        var certFile = Path.Combine(_dir.FullName, name + ".crt");
        var keyFile = Path.Combine(_dir.FullName, name + ".key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    [OneTimeTearDown]
    public void RemoveCertificates() => _dir.Delete(recursive: true);

    private async Task<RestFixture> StartAsync()
    {
        var security = new RestApiConfig
        {
            Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008),
            CertFile = _serverCert, KeyFile = _serverKey, CaFile = _ca, VerifyClient = ClientCertificateMode.Optional,
        };
        var f = await RestFixture.StartAsync(security, client: new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true }));
        await f.Nodes[0].TouchMemberAsync(new Member("node1")
        {
            ConnUrl = "postgres://127.0.0.1:5432/postgres", ApiUrl = new Uri(f.Client.BaseAddress!, "patroni").ToString(), State = "running",
            Role = MemberRole.Primary, AgentVersion = "3.0.2", Timeline = 2,
        }, TimeSpan.FromSeconds(30), CancellationToken.None);
        foreach (var other in f.Nodes.Skip(1))
            await other.TouchMemberAsync(new Member(other.MemberName) { ConnUrl = "postgres://127.0.0.2:5432/postgres", State = "running", Role = MemberRole.Replica }, TimeSpan.FromSeconds(30), CancellationToken.None);
        return f;
    }

    private string Config(bool withCa) =>
        $"scope: batman\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:1\nctl:\n  certfile: {_clientCert}\n  keyfile: {_clientKey}\n" + (withCa ? $"  cacert: {_ca}\n" : "");

    [Test]
    public async Task TheServerIsVerifiedAgainstCtlCacertAndTheClientCertificateIsAccepted()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config(withCa: true), f.Store) { UseHttp = true };
        var (exit, output, error, _) = harness.Run(["pause"]);
        Assert.That((exit, output), Is.EqualTo((0, "Success: cluster management is paused\n")), error);
    }

    [Test]
    public async Task AnUntrustedServerIsRefusedUnlessInsecure()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config(withCa: false), f.Store) { UseHttp = true };
        var (exit, _, error, _) = harness.Run(["pause"]);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("Error: Can not find accessible cluster member (tried node1)"));
        Assert.That(harness.Key("config"), Does.Not.Contain("pause"));

        var (exit2, output2, error2, _) = harness.Run(["-k", "pause"]);
        Assert.That((exit2, output2), Is.EqualTo((0, "Success: cluster management is paused\n")), error2);
    }
}
