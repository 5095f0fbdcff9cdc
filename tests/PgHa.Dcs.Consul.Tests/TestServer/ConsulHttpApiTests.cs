using System.Net;
using System.Text;
using System.Text.Json;
using PgHa.ConsulTestServer;

namespace PgHa.Dcs.Consul.Tests.TestServer;

/// <summary>The test server's HTTP surface: Consul's paths, bodies, headers and status codes, as raw HTTP.</summary>
[TestFixture]
public sealed class ConsulHttpApiTests
{
    private ConsulTestServer.ConsulTestServer _server = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _server = await ConsulTestServer.ConsulTestServer.StartAsync(ConsulTestEnvironment.ServerOptions());
        _http = new HttpClient { BaseAddress = _server.Address };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static string Key() => "t/" + Guid.NewGuid().ToString("N");

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8);
        var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Test]
    public async Task SessionCreateAcceptsPatronisLowerCaseBody()
    {
        // What python-consul 0.7 + Patroni 3.0.2 send (field names in lower case, ttl appended by Patroni).
        var (status, body, _) = await SendAsync(HttpMethod.Put, "/v1/session/create",
            """{"name": "batman-node1", "checks": [], "lockdelay": "0.001s", "behavior": "delete", "ttl": "15.0s"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var id = JsonDocument.Parse(body).RootElement.GetProperty("ID").GetString()!;
        var session = _server.Store.GetSession(id)!;
        Assert.That((session.Name, session.Behavior, session.Ttl, session.LockDelay, session.NodeChecks.Count),
            Is.EqualTo(("batman-node1", "delete", "15.0s", TimeSpan.FromMilliseconds(1), 0)));
    }

    [Test]
    public async Task InvalidSessionTtlIsA500WhoseBodyStartsAsPatroniExpects()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Put, "/v1/session/create", """{"TTL":"0.5s"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(body, Does.StartWith("Invalid Session TTL"));
    }

    [Test]
    public async Task RenewOfAnUnknownSessionIs404AndOfALiveOneListsIt()
    {
        Assert.That((await SendAsync(HttpMethod.Put, "/v1/session/renew/" + Guid.NewGuid())).Status, Is.EqualTo(HttpStatusCode.NotFound));
        var id = _server.Store.CreateSession(new SessionRequest { Ttl = "10s" }).Id;
        var (status, body, _) = await SendAsync(HttpMethod.Put, "/v1/session/renew/" + id);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(JsonDocument.Parse(body).RootElement[0].GetProperty("ID").GetString(), Is.EqualTo(id));
    }

    [Test]
    public async Task DestroyAnswersTrue()
    {
        var id = _server.Store.CreateSession(new SessionRequest()).Id;
        var (status, body, _) = await SendAsync(HttpMethod.Put, "/v1/session/destroy/" + id);
        Assert.That((status, body), Is.EqualTo((HttpStatusCode.OK, "true")));
        Assert.That(_server.Store.GetSession(id), Is.Null);
    }

    [Test]
    public async Task KvGetAnswersPascalCaseFieldsWithBase64ValueAndIndexHeaders()
    {
        var key = Key();
        Assert.That((await SendAsync(HttpMethod.Put, $"/v1/kv/{key}?flags=42", "hello")).Body, Is.EqualTo("true"));
        var (status, body, response) = await SendAsync(HttpMethod.Get, $"/v1/kv/{key}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var entry = JsonDocument.Parse(body).RootElement[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.GetProperty("Key").GetString(), Is.EqualTo(key));
            Assert.That(entry.GetProperty("Value").GetString(), Is.EqualTo(Convert.ToBase64String(Encoding.UTF8.GetBytes("hello"))));
            Assert.That(entry.GetProperty("Flags").GetUInt64(), Is.EqualTo(42));
            Assert.That(entry.GetProperty("LockIndex").GetUInt64(), Is.Zero);
            Assert.That(entry.GetProperty("CreateIndex").GetUInt64(), Is.EqualTo(entry.GetProperty("ModifyIndex").GetUInt64()));
            Assert.That(response.Headers.GetValues("X-Consul-Index").Single(), Is.EqualTo(entry.GetProperty("ModifyIndex").GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(response.Headers.GetValues("X-Consul-KnownLeader").Single(), Is.EqualTo("true"));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        }
    }

    [Test]
    public async Task MissingKeyIs404WithAnIndexHeader()
    {
        var (status, body, response) = await SendAsync(HttpMethod.Get, $"/v1/kv/{Key()}");
        Assert.That((status, body), Is.EqualTo((HttpStatusCode.NotFound, "")));
        Assert.That(ulong.Parse(response.Headers.GetValues("X-Consul-Index").Single(), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0UL));
    }

    [Test]
    public async Task KeysAndRawAndSeparatorReadModes()
    {
        var prefix = Key();
        await SendAsync(HttpMethod.Put, $"/v1/kv/{prefix}/a/1", "x");
        await SendAsync(HttpMethod.Put, $"/v1/kv/{prefix}/b", "raw-value");
        Assert.That((await SendAsync(HttpMethod.Get, $"/v1/kv/{prefix}/?keys")).Body, Is.EqualTo($"[\"{prefix}/a/1\",\"{prefix}/b\"]"));
        Assert.That((await SendAsync(HttpMethod.Get, $"/v1/kv/{prefix}/?keys&separator=/")).Body, Is.EqualTo($"[\"{prefix}/a/\",\"{prefix}/b\"]"));
        Assert.That((await SendAsync(HttpMethod.Get, $"/v1/kv/{prefix}/b?raw")).Body, Is.EqualTo("raw-value"));
    }

    [Test]
    public async Task AcquireWithAGoneSessionIs500InvalidSession()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Put, $"/v1/kv/{Key()}?acquire={Guid.NewGuid()}", "v");
        Assert.That(status, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(body, Does.StartWith("invalid session"));
    }

    [Test]
    public async Task FailedCasAnswersFalse()
    {
        var key = Key();
        Assert.That((await SendAsync(HttpMethod.Put, $"/v1/kv/{key}?cas=0", "1")).Body, Is.EqualTo("true"));
        Assert.That((await SendAsync(HttpMethod.Put, $"/v1/kv/{key}?cas=0", "2")).Body, Is.EqualTo("false"));
        Assert.That((await SendAsync(HttpMethod.Delete, $"/v1/kv/{key}?cas=1")).Body, Is.EqualTo("false"));
    }

    [Test]
    public async Task BadQueryValuesAre400()
    {
        Assert.That((await SendAsync(HttpMethod.Put, $"/v1/kv/{Key()}?cas=abc", "v")).Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await SendAsync(HttpMethod.Get, $"/v1/kv/{Key()}?index=1&wait=soon")).Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await SendAsync(HttpMethod.Put, "/v1/kv/", "v")).Status, Is.EqualTo(HttpStatusCode.BadRequest), "missing key name");
    }

    [Test]
    public async Task AnotherDatacenterHasNoPath()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, $"/v1/kv/{Key()}?dc=elsewhere");
        Assert.That((status, body), Is.EqualTo((HttpStatusCode.InternalServerError, "No path to datacenter")));
        Assert.That((await SendAsync(HttpMethod.Get, $"/v1/kv/{Key()}?dc=dc1")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task BlockingQueryHoldsUntilAWriteThenAnswersTheNewIndex()
    {
        var key = Key();
        await SendAsync(HttpMethod.Put, $"/v1/kv/{key}", "1");
        var index = (await SendAsync(HttpMethod.Get, $"/v1/kv/{key}")).Response.Headers.GetValues("X-Consul-Index").Single();
        var blocked = SendAsync(HttpMethod.Get, $"/v1/kv/{key}?index={index}&wait=30s");
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.That(blocked.IsCompleted, Is.False);
        await SendAsync(HttpMethod.Put, $"/v1/kv/{key}", "2");
        var (status, _, response) = await blocked.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Consul-Index").Single(), Is.Not.EqualTo(index));
    }

    [Test]
    public async Task AgentSelfReportsTheMinimumSessionTtlInNanoseconds()
    {
        var config = JsonDocument.Parse((await SendAsync(HttpMethod.Get, "/v1/agent/self")).Body).RootElement.GetProperty("Config");
        Assert.That(config.GetProperty("SessionTTLMin").GetInt64(), Is.EqualTo(1_000_000_000L));
        Assert.That(config.GetProperty("Datacenter").GetString(), Is.EqualTo("dc1"));
    }

    [Test]
    public async Task ServiceRegistrationRoundTripsAndUnknownDeregistrationIs404()
    {
        var id = "svc-" + Guid.NewGuid().ToString("N");
        Assert.That((await SendAsync(HttpMethod.Put, "/v1/agent/service/register",
            $$$"""{"ID":"{{{id}}}","Name":"batman","Tags":["primary","master"],"Address":"10.0.0.1","Port":5432,"Check":{"HTTP":"http://10.0.0.1:8008/primary","Interval":"5s"}}""")).Status,
            Is.EqualTo(HttpStatusCode.OK));
        var services = JsonDocument.Parse((await SendAsync(HttpMethod.Get, "/v1/agent/services")).Body).RootElement;
        Assert.That(services.GetProperty(id).GetProperty("Tags").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "primary", "master" }));
        Assert.That((await SendAsync(HttpMethod.Put, "/v1/agent/service/deregister/" + id)).Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await SendAsync(HttpMethod.Put, "/v1/agent/service/deregister/" + id)).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task RequiredTokenIsCheckedInTheHeader()
    {
        var options = ConsulTestEnvironment.ServerOptions();
        options.RequiredToken = "s3cret";
        await using var server = await ConsulTestServer.ConsulTestServer.StartAsync(options);
        using var http = new HttpClient { BaseAddress = server.Address };
        var refused = await http.GetAsync(new Uri("/v1/kv/x", UriKind.Relative));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await refused.Content.ReadAsStringAsync(), Is.EqualTo("ACL not found"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/kv/x");
        request.Headers.Add("X-Consul-Token", "s3cret");
        Assert.That((await http.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task AFrozenServerHoldsRequestsUntilThawed()
    {
        await using var server = await ConsulTestServer.ConsulTestServer.StartAsync(ConsulTestEnvironment.ServerOptions());
        using var http = new HttpClient { BaseAddress = server.Address };
        server.Freeze();
        var held = http.GetAsync(new Uri("/v1/status/leader", UriKind.Relative));
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.That(held.IsCompleted, Is.False);
        server.Thaw();
        Assert.That((await held.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
