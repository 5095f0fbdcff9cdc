using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;
using PgHa.Host.Tests.Configuration;
using PgHa.Host.Tests.Rest;
using PgHa.Loop;

namespace PgHa.Host.Tests.Daemon;

/// <summary>
/// The agent's peer calls against a real REST API whose unsafe endpoints need credentials: a leader in failsafe mode
/// sends <c>POST /failsafe</c> with its configured <c>restapi.authentication</c> (patroni-compat.md §3.4, §5.7), and
/// over HTTPS with <c>verify_client: required</c> it presents its <c>restapi.certfile</c> as Patroni's daemon does.
/// </summary>
[TestFixture]
public sealed class PeerHttpTests : ConfigTestBase
{
    private static readonly FailsafePing Ping = new("node2", "postgres://127.0.0.2:5432/postgres", "http://127.0.0.2:8008/patroni");

    private static RestApiConfig Guarded(Func<RestApiConfig, RestApiConfig>? change = null)
    {
        var section = new RestApiConfig
        {
            Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008),
            Authentication = new BasicAuthentication("admin", new Secret("s3cret")),
        };
        return change is null ? section : change(section);
    }

    private static async Task<RestFixture> StartAsync(RestApiConfig security, HttpClient? client = null)
    {
        var f = await RestFixture.StartAsync(security, client: client);
        f.Snapshot = f.Snapshot with { Settings = f.Snapshot.Settings with { FailsafeMode = true } };
        return f;
    }

    private PgHaConfig Node(string restApiExtra) =>
        LoadValid(BaseYaml.Replace("  connect_address: 10.0.0.1:8008\n", "  connect_address: 10.0.0.1:8008\n" + restApiExtra, StringComparison.Ordinal));

    private static async Task<bool> ConfirmAsync(PgHaConfig config, RestFixture f)
    {
        using var http = PeerHttp.CreateHttpClient(config);
        var client = PeerHttp.CreateClient(config, http, TimeProvider.System, null);
        return await client.ConfirmFailsafeAsync("node1", new Uri(f.Client.BaseAddress!, "patroni").ToString(), Ping, TimeSpan.FromSeconds(10), CancellationToken.None);
    }

    [Test]
    public async Task TheFailsafePostSendsTheNodesRestApiCredentials()
    {
        await using var f = await StartAsync(Guarded());
        var withCredentials = await ConfirmAsync(Node("  authentication:\n    username: admin\n    password: s3cret\n"), f);
        var without = await ConfirmAsync(Node(""), f);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(withCredentials, Is.True);
            Assert.That(without, Is.False, "the member's API must refuse an anonymous POST /failsafe");
            Assert.That(f.Operations.FailsafePings, Is.EqualTo(new[] { Ping }));
        }
    }

    [Test]
    public async Task CtlAuthenticationTakesPrecedenceOverRestApiAuthentication()
    {
        await using var f = await StartAsync(Guarded());
        var node = Node("  authentication:\n    username: admin\n    password: wrong\n");
        var config = node with { Ctl = node.Ctl with { Authentication = new BasicAuthentication("admin", new Secret("s3cret")) } };
        Assert.That(await ConfirmAsync(config, f), Is.True);
    }

    [Test]
    public async Task OverHttpsWithRequiredClientCertificatesThePeerCallPresentsTheNodesCertificate()
    {
        var now = TimeProvider.System.GetUtcNow();
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=pgha peer test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-2), now.AddDays(2));
        // One certificate serves the API and identifies the node to its peers, as restapi.certfile does in Patroni.
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var node = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
        var certFile = WriteFile("node.crt", node.ExportCertificatePem());
        var keyFile = WriteFile("node.key", key.ExportPkcs8PrivateKeyPem());
        var caFile = WriteFile("ca.crt", ca.ExportCertificatePem());

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        await using var f = await StartAsync(Guarded(s => s with { CertFile = certFile, KeyFile = keyFile, CaFile = caFile, VerifyClient = ClientCertificateMode.Required }),
            new HttpClient(handler));
        var accepted = await ConfirmAsync(Node($"  certfile: {certFile}\n  keyfile: {keyFile}\n  cafile: {caFile}\n  verify_client: required\n" +
                                               "  authentication:\n    username: admin\n    password: s3cret\n"), f);
        Assert.That(f.Client.BaseAddress!.Scheme, Is.EqualTo("https"));
        Assert.That(accepted, Is.True);
        Assert.That(f.Operations.FailsafePings, Is.EqualTo(new[] { Ping }));
    }
}
