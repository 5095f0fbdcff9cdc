using System.Net;
using System.Net.Sockets;
using static PgHa.Host.Tests.Rest.RestTestNodes;

namespace PgHa.Host.Tests.Rest;

/// <summary>The REST API over real HTTP on loopback, as HAProxy and peers use it.</summary>
[TestFixture]
public sealed class RestApiServerTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<(RestApiServer Server, HttpClient Client)> Start(NodeSnapshot node)
    {
        var port = FreePort();
        var server = await RestApiServer.StartAsync($"127.0.0.1:{port}", () => node, new FixedClock(Now), null, CancellationToken.None);
        return (server, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    [Test]
    public async Task AnswersHealthChecksWithPatroniCodesAndTheStatusBody()
    {
        var (server, client) = await Start(Node(Replica(), leader: false));
        await using var _ = server;
        using var __ = client;

        using var replica = await client.GetAsync("/replica");
        using var primary = await client.GetAsync("/primary");
        using var patroni = await client.GetAsync("/patroni");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(replica.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(primary.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(await primary.Content.ReadAsStringAsync(), Does.StartWith("""{"state": "running", """), "health answers carry the status document");
            Assert.That(patroni.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(patroni.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        }
    }

    [Test]
    public async Task HeadAndOptionsAnswerTheStatusLineOnly()
    {
        var (server, client) = await Start(Node(Primary, leader: true));
        await using var _ = server;
        using var __ = client;

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/primary"));
        using var options = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/replica"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(options.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(await options.Content.ReadAsStringAsync(), Is.Empty);
        }
    }

    [Test]
    public async Task ABadQueryIsABadRequestAndAnUnknownMethodIsNotImplemented()
    {
        var (server, client) = await Start(Node(Replica(), leader: false));
        await using var _ = server;
        using var __ = client;

        using var badLag = await client.GetAsync("/replica?lag=lots");
        using var delete = await client.DeleteAsync("/patroni");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(badLag.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await badLag.Content.ReadAsStringAsync(), Does.StartWith("lag:"));
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NotImplemented));
        }
    }
}
