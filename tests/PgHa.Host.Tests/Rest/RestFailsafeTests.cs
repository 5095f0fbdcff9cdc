using System.Net;
using System.Net.Http.Headers;
using System.Text;
using PgHa.Host.Configuration;
using PgHa.Loop;

namespace PgHa.Host.Tests.Rest;

/// <summary>
/// Failsafe mode over REST (patroni-compat.md §3.2, §3.3, §5.7): <c>POST /failsafe</c> codes and body checks, its access
/// check, and <c>failsafe_mode_is_active</c> in <c>/patroni</c> and <c>/metrics</c>.
/// </summary>
[TestFixture]
public sealed class RestFailsafeTests
{
    private const string Ping = """{"name":"node2","conn_url":"postgres://127.0.0.2:5432/postgres","api_url":"http://127.0.0.2:8008/patroni","slots":{}}""";

    private static async Task<RestFixture> StartAsync(bool failsafeMode = true, RestApiConfig? security = null)
    {
        var f = await RestFixture.StartAsync(security);
        f.Snapshot = f.Snapshot with { Settings = f.Snapshot.Settings with { FailsafeMode = failsafeMode } };
        return f;
    }

    private static async Task<(HttpStatusCode Status, string Body)> Post(RestFixture f, string json)
    {
        using var response = await f.Client.PostAsync("/failsafe", RestFixture.Json(json));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task AcceptedPingIsHandedToTheLoop()
    {
        await using var f = await StartAsync();
        var (status, body) = await Post(f, Ping);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.EqualTo("Accepted"));
            Assert.That(f.Operations.FailsafePings, Is.EqualTo(new[] { new FailsafePing("node2", "postgres://127.0.0.2:5432/postgres", "http://127.0.0.2:8008/patroni") }));
        }
    }

    [Test]
    public async Task RefusalIsA500WithTheLoopsReason()
    {
        await using var f = await StartAsync();
        f.Operations.FailsafeAnswer = FailsafeAnswer.Refused("Running as a leader");
        var (status, body) = await Post(f, Ping);
        Assert.That((status, body), Is.EqualTo((HttpStatusCode.InternalServerError, "Running as a leader")));
    }

    [Test]
    public async Task FailsafeModeOffIsA502AndNothingIsRecorded()
    {
        await using var f = await StartAsync(failsafeMode: false);
        var (status, _) = await Post(f, Ping);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadGateway));
            Assert.That(f.Operations.FailsafePings, Is.Empty);
        }
    }

    [TestCase("""{"conn_url":"postgres://h:5432/postgres","api_url":"http://h:8008/patroni"}""", "\"name\"")]
    [TestCase("""{"name":"","conn_url":"postgres://h:5432/postgres","api_url":"http://h:8008/patroni"}""", "\"name\"")]
    [TestCase("""{"name":"node2","conn_url":5432,"api_url":"http://h:8008/patroni"}""", "\"conn_url\"")]
    [TestCase("""{"name":"node2","conn_url":"postgres://h:5432/postgres"}""", "\"api_url\"")]
    [TestCase("""[1]""", "non-empty JSON object")]
    [TestCase("""not json""", "non-empty JSON object")]
    public async Task MalformedBodiesAreBadRequestsNamingTheField(string json, string named)
    {
        await using var f = await StartAsync();
        var (status, body) = await Post(f, json);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body, Does.Contain(named));
            Assert.That(f.Operations.FailsafePings, Is.Empty);
        }
    }

    [Test]
    public async Task NeedsCredentialsLikeTheOtherUnsafeEndpoints()
    {
        var security = new RestApiConfig
        {
            Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008),
            Authentication = new BasicAuthentication("admin", new Secret("s3cret")),
        };
        await using var f = await StartAsync(security: security);
        var (anonymous, _) = await Post(f, Ping);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/failsafe")
        {
            Content = RestFixture.Json(Ping),
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:s3cret"))) },
        };
        using var authorized = await f.Client.SendAsync(request);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(anonymous, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(authorized.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(f.Operations.FailsafePings, Has.Count.EqualTo(1));
        }
    }

    [Test]
    public async Task ActiveFailsafeShowsInPatroniAndMetrics()
    {
        await using var f = await StartAsync();
        var now = TimeProvider.System.GetUtcNow();
        var before = await f.Client.GetStringAsync("/patroni");
        var beforeMetrics = await f.Client.GetStringAsync("/metrics");
        f.Snapshot = f.Snapshot with { Memory = f.Snapshot.Memory with { Failsafe = f.Snapshot.Memory.Failsafe with { ConfirmedUntil = now.AddSeconds(20) } } };
        var during = await f.Client.GetStringAsync("/patroni");
        var duringMetrics = await f.Client.GetStringAsync("/metrics");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Does.Not.Contain("failsafe_mode_is_active"));
            Assert.That(beforeMetrics, Does.Contain("patroni_failsafe_mode_is_active{scope=\"batman\",name=\"node1\"} 0"));
            Assert.That(during, Does.Contain("\"failsafe_mode_is_active\": true"));
            Assert.That(duringMetrics, Does.Contain("patroni_failsafe_mode_is_active{scope=\"batman\",name=\"node1\"} 1"));
        }
    }
}
