using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Rest;

/// <summary>patroni-compat.md §3.4: authentication, allowlist and TLS guard unsafe endpoints; health checks stay open.</summary>
[TestFixture]
public sealed class RestSecurityTests
{
    private static RestApiConfig Section(Func<RestApiConfig, RestApiConfig>? change = null)
    {
        var config = new RestApiConfig { Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008) };
        return change is null ? config : change(config);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));

    [Test]
    public async Task UnsafeEndpointsNeedBasicCredentialsHealthChecksDoNot()
    {
        await using var f = await RestFixture.StartAsync(Section(c => c with { Authentication = new BasicAuthentication("admin", new Secret("s3cret")) }));
        var before = f.Dump();
        using var anonymous = await f.Client.PostAsync("/switchover", RestFixture.Json("""{"leader":"node1","scheduled_at":"2099-01-01T10:00:00+00:00"}"""));
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/reload") { Headers = { Authorization = Basic("admin", "guess") } };
        using var wrongAnswer = await f.Client.SendAsync(wrong);
        using var right = new HttpRequestMessage(HttpMethod.Post, "/reload") { Headers = { Authorization = Basic("admin", "s3cret") } };
        using var rightAnswer = await f.Client.SendAsync(right);
        using var health = await f.Client.GetAsync("/primary");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(anonymous.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Basic realm=\"Patroni\""));
            Assert.That(await anonymous.Content.ReadAsStringAsync(), Is.EqualTo("no auth header received"));
            Assert.That(wrongAnswer.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await wrongAnswer.Content.ReadAsStringAsync(), Is.EqualTo("not authenticated"));
            Assert.That(rightAnswer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(f.Dump(), Is.EqualTo(before));
            Assert.That(f.Operations.Reloads, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task TheAllowlistDeniesOtherAddresses()
    {
        await using var denied = await RestFixture.StartAsync(Section(c => c with { Allowlist = ["10.1.2.0/24", "192.0.2.7"] }));
        using var no = await denied.Client.PostAsync("/reload", null);
        Assert.That(no.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await no.Content.ReadAsStringAsync(), Is.EqualTo("Access is denied"));

        await using var allowed = await RestFixture.StartAsync(Section(c => c with { Allowlist = ["127.0.0.0/8"] }));
        using var yes = await allowed.Client.PostAsync("/reload", null);
        Assert.That(yes.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }

    [Test]
    public async Task AllowlistIncludeMembersAdmitsMembersApiHosts()
    {
        // The fixture's members publish api_url hosts of 127.0.0.1.
        await using var f = await RestFixture.StartAsync(Section(c => c with { Allowlist = ["192.0.2.7"], AllowlistIncludeMembers = true }));
        using var yes = await f.Client.PostAsync("/reload", null);
        Assert.That(yes.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }

    [Test]
    public async Task TlsServesHttpsAndOptionalClientCertificatesGuardUnsafeEndpoints()
    {
        var dir = Directory.CreateTempSubdirectory("pgha-rest-tls-");
        try
        {
            using var ca = SelfSigned("CN=pgha test CA", isCa: true);
            using var serverKey = RSA.Create(2048);
            var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var server = serverRequest.Create(ca, TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1), [1, 2, 3]);
            var certFile = Path.Combine(dir.FullName, "server.crt");
            var keyFile = Path.Combine(dir.FullName, "server.key");
            var caFile = Path.Combine(dir.FullName, "ca.crt");
            await File.WriteAllTextAsync(certFile, server.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, serverKey.ExportPkcs8PrivateKeyPem());
            await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());

            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == server.Thumbprint };
            await using var f = await RestFixture.StartAsync(
                Section(c => c with { CertFile = certFile, KeyFile = keyFile, CaFile = caFile, VerifyClient = ClientCertificateMode.Optional }),
                client: new HttpClient(handler));
            using var health = await f.Client.GetAsync("/primary");
            using var unsafeWithoutCert = await f.Client.PostAsync("/reload", null);
            Assert.That(f.Client.BaseAddress!.Scheme, Is.EqualTo("https"));
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(unsafeWithoutCert.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await unsafeWithoutCert.Content.ReadAsStringAsync(), Is.EqualTo("client certificate required"));
            Assert.That(f.Operations.Reloads, Is.Zero);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static X509Certificate2 SelfSigned(string subject, bool isCa)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (isCa) request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        return request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-2), TimeProvider.System.GetUtcNow().AddDays(2));
    }
}
