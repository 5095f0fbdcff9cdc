using System.Net;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Peers;

namespace PgHa.Core.Tests.Peers;

/// <summary>Peers answer with Patroni's <c>/patroni</c> document; a Patroni 3.0.2 node's real answers must read right.</summary>
[TestFixture]
public sealed class PeerStatusTests
{
    private static string Fixture(string state, string file) =>
        File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "patroni-3.0.2", "etcd3", state, file));

    [Test]
    public void ReadsAPatroniPrimary()
    {
        var peer = PatroniStatusReader.Read("node1", Fixture("bootstrapped", "rest-patroni__node1.json"));
        Assert.That(peer, Is.EqualTo(new PeerStatus("node1", true) { Role = MemberRole.Primary, Lsn = 67108864, Timeline = 1 }));
    }

    [Test]
    public void ReadsAPatroniReplicaByItsReceivedAndReplayedPositions()
    {
        var peer = PatroniStatusReader.Read("node2", Fixture("bootstrapped", "rest-patroni__node2.json"));
        Assert.That(peer, Is.EqualTo(new PeerStatus("node2", true) { Role = MemberRole.Replica, Lsn = 67108864, Timeline = 1 }));
    }

    [Test]
    public void ReadsEveryCapturedAnswerAsReachable()
    {
        var root = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "patroni-3.0.2", "etcd3");
        var files = Directory.EnumerateFiles(root, "rest-patroni__*.json", SearchOption.AllDirectories).ToList();
        Assert.That(files, Is.Not.Empty);
        foreach (var file in files)
        {
            var peer = PatroniStatusReader.Read("x", File.ReadAllText(file));
            Assert.That(peer.Reachable, Is.True, file);
            Assert.That(peer.Role, Is.Not.EqualTo(MemberRole.Unknown), file);
        }
    }

    [Test]
    public void ReadsTagsAndAFailedWatchdog()
    {
        var peer = PatroniStatusReader.Read("n", """{"role": "replica", "xlog": {"received_location": 5, "replayed_location": 7}, "timeline": 3, "tags": {"nofailover": true, "failover_priority": 2}, "watchdog_failed": true}""");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(peer.Lsn, Is.EqualTo(7));
            Assert.That(peer.Timeline, Is.EqualTo(3));
            Assert.That(peer.Tags.NoFailover, Is.True);
            Assert.That(peer.WatchdogFailed, Is.True);
        }
    }

    [TestCase("", TestName = "An empty answer makes the peer unreachable")]
    [TestCase("<html>502</html>", TestName = "An HTML error page makes the peer unreachable")]
    [TestCase("[1,2]", TestName = "A JSON array makes the peer unreachable")]
    public void GarbageMakesThePeerUnreachable(string body) =>
        Assert.That(PatroniStatusReader.Read("n", body).Reachable, Is.False);

    [Test]
    public async Task AnUnreachablePeerIsReportedNotThrown()
    {
        using var http = new HttpClient(new Handler(_ => Task.FromException<HttpResponseMessage>(new HttpRequestException("connection refused"))));
        var client = new HttpPeerStatusClient(http, TimeProvider.System);
        var peer = await client.GetStatusAsync(new Member("node2") { ApiUrl = "http://127.0.0.1:9/patroni" }, TimeSpan.FromSeconds(2), CancellationToken.None);
        Assert.That(peer, Is.EqualTo(PeerStatus.Unreachable("node2")));
    }

    [Test]
    public async Task ASlowPeerIsUnreachableAfterTheTimeout()
    {
        using var http = new HttpClient(new Handler(async ct =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }));
        var client = new HttpPeerStatusClient(http, TimeProvider.System);
        var peer = await client.GetStatusAsync(new Member("node2") { ApiUrl = "http://127.0.0.1:9/patroni" }, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        Assert.That(peer.Reachable, Is.False);
    }

    [Test]
    public async Task APeerWithoutAnApiUrlIsUnreachable()
    {
        using var http = new HttpClient(new Handler(_ => Task.FromException<HttpResponseMessage>(new AssertionException("must not be called"))));
        var peer = await new HttpPeerStatusClient(http, TimeProvider.System).GetStatusAsync(new Member("node2"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.That(peer.Reachable, Is.False);
    }

    [Test]
    public async Task TheFailsafePostCarriesTheConfiguredBasicCredentials()
    {
        var seen = new List<(HttpMethod Method, string? Authorization)>();
        using var http = new HttpClient(new RecordingHandler(seen));
        var client = new HttpPeerStatusClient(http, TimeProvider.System) { Credentials = new NetworkCredential("admin", "s3cret") };
        var accepted = await client.ConfirmFailsafeAsync("node2", "http://127.0.0.2:8008/patroni",
            new FailsafePing("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"), TimeSpan.FromSeconds(5), CancellationToken.None);
        await client.GetStatusAsync(new Member("node2") { ApiUrl = "http://127.0.0.2:8008/patroni" }, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(accepted, Is.True);
        Assert.That(seen, Is.EqualTo(new[] { (HttpMethod.Post, (string?)"Basic YWRtaW46czNjcmV0"), (HttpMethod.Get, (string?)"Basic YWRtaW46czNjcmV0") }));
    }

    [Test]
    public async Task WithoutCredentialsNoAuthorizationHeaderIsSent()
    {
        var seen = new List<(HttpMethod Method, string? Authorization)>();
        using var http = new HttpClient(new RecordingHandler(seen));
        var accepted = await new HttpPeerStatusClient(http, TimeProvider.System).ConfirmFailsafeAsync("node2", "http://127.0.0.2:8008/patroni",
            new FailsafePing("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni"), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(accepted, Is.True);
        Assert.That(seen, Is.EqualTo(new[] { (HttpMethod.Post, (string?)null) }));
    }

    // Answers a POST with Patroni's "Accepted" and a GET with an empty status document, recording the Authorization header.
    private sealed class RecordingHandler(List<(HttpMethod Method, string? Authorization)> seen) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            seen.Add((request.Method, request.Headers.Authorization?.ToString()));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(request.Method == HttpMethod.Post ? "Accepted" : "{}") });
        }
    }

    private sealed class Handler(Func<CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer(cancellationToken);
    }
}
