using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Rest;

/// <summary>
/// Throws more than 10,000 random and malformed requests at a running REST API: it must never crash or answer 500, and
/// none of them may change the cluster in the DCS (every mutating one is built to be invalid).
/// </summary>
[TestFixture]
public sealed class RestFuzzTests
{
    private static readonly string[] Methods = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "BREW"];
    private static readonly string[] Paths =
    [
        "/", "/patroni", "/cluster", "/history", "/config", "/metrics", "/liveness", "/readiness", "/primary", "/replica", "/read-only",
        "/leader", "/standby-leader", "/sync", "/async", "/health", "/failsafe", "/switchover", "/failover", "/restart", "/reinitialize",
        "/reload", "/config/extra", "/switchover/../config", "/%00", "/" + new string('x', 3000), "/r%C3%A9plica", "/read-only-sync",
    ];

    private static string Body(Random r, string path)
    {
        string Name() => "ghost" + r.Next(1000);
        string Junk() => new(Enumerable.Range(0, r.Next(0, 40)).Select(_ => (char)r.Next(1, 0x2FF)).ToArray());
        string AnyJson() => r.Next(8) switch
        {
            0 => "null", 1 => "[1,2", 2 => r.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), 3 => "\"" + Name() + "\"",
            4 => "{\"a\":", 5 => new string('[', 300) + new string(']', 300), 6 => "{}", _ => Junk(),
        };
        return (path, r.Next(3)) switch
        {
            (_, 0) => AnyJson(),
            ("/config", _) => r.Next(4) switch
            {
                0 => $"{{\"ttl\":\"{Name()}\"}}", 1 => "{\"loop_wait\":1000}", 2 => $"{{\"retry_timeout\":{-r.Next(1, 100)}}}", _ => "{\"postgresql\":{\"parameters\":7}}",
            },
            ("/switchover" or "/failover", _) => r.Next(4) switch
            {
                0 => $"{{\"leader\":\"{Name()}\",\"candidate\":\"node2\"}}",
                1 => $"{{\"leader\":\"node1\",\"candidate\":\"{Name()}\"}}",
                2 => $"{{\"leader\":{r.Next()},\"member\":[\"{Name()}\"]}}",
                _ => $"{{\"leader\":\"node1\",\"scheduled_at\":\"{Junk()}\"}}",
            },
            ("/restart", _) => r.Next(3) switch
            {
                0 => $"{{\"role\":\"{Name()}\"}}", 1 => $"{{\"timeout\":\"{Junk()}\"}}", _ => $"{{\"{Name()}\":1}}",
            },
            _ => AnyJson(),
        };
    }

    [Test]
    public async Task TenThousandBadRequestsChangeNothingAndNeverCrash()
    {
        await using var f = await RestFixture.StartAsync(new RestApiConfig
        {
            Listen = new HostPort("127.0.0.1", 8008), ConnectAddress = new HostPort("127.0.0.1", 8008),
            Authentication = new BasicAuthentication("admin", new Secret("pw")),
        }, configure: o => o with { MaxRequestBodyBytes = 4096 });
        var before = f.Dump();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        const int Workers = 8, PerWorker = 1260;
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var r = new Random(4711 + w);
            for (var i = 0; i < PerWorker; i++)
            {
                var method = Methods[r.Next(Methods.Length)];
                var path = Paths[r.Next(Paths.Length)];
                var query = r.Next(4) switch { 0 => "?lag=" + r.Next(-5, 99999) + (r.Next(2) == 0 ? "MB" : "zz"), 1 => "?tag_zone=a&tag_=", 2 => "?%%%", _ => "" };
                using var request = new HttpRequestMessage(new HttpMethod(method), path + query);
                var oversized = false;
                if (method is "POST" or "PUT" or "PATCH" or "DELETE" && r.Next(5) > 0)
                {
                    oversized = r.Next(50) == 0;
                    var body = oversized ? new string('{', 5000) : Body(r, path);
                    request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                    // The server may close the connection after refusing an oversized body unread; keep that off the pool.
                    if (oversized) request.Headers.ConnectionClose = true;
                }
                var auth = r.Next(10);
                if (auth < 7) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:pw"u8.ToArray()));
                else if (auth < 9) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "!!notbase64" + r.Next());
                try
                {
                    using var response = await f.Client.SendAsync(request);
                    var code = (int)response.StatusCode;
                    statuses.AddOrUpdate(code, 1, (_, n) => n + 1);
                    // 501 unknown method, 502 failsafe, 503 refused action: Patroni's documented codes. 500 would be a crash.
                    if (code >= 500 && code is not (501 or 502 or 503)) failures.Add($"{method} {path}{query}: {code} {await response.Content.ReadAsStringAsync()}");
                }
                catch (HttpRequestException ex) when (!oversized)
                {
                    failures.Add($"{method} {path}{query}: {ex.Message}");
                }
                catch (HttpRequestException)
                {
                    // Closing the connection on a body over the limit, before the client finished sending it, is allowed.
                    statuses.AddOrUpdate(413, 1, (_, n) => n + 1);
                }
            }
        })));
        // Garbage that is not HTTP at all, on raw sockets.
        var port = f.Client.BaseAddress!.Port;
        var raw = new Random(99);
        for (var i = 0; i < 50; i++)
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var junk = new byte[raw.Next(1, 2000)];
            raw.NextBytes(junk);
            var stream = socket.GetStream();
            var buffer = new byte[4096];
            // The server may drop such a connection at any point; only its survival matters.
            try
            {
                await stream.WriteAsync(junk);
                socket.Client.Shutdown(SocketShutdown.Send);
                while (await stream.ReadAsync(buffer) > 0) { }
            }
            catch (Exception ex) when (ex is IOException or SocketException) { }
        }
        using var alive = await f.Client.GetAsync("/patroni");
        var total = statuses.Values.Sum();
        TestContext.Out.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.That(failures, Is.Empty);
        Assert.That(total, Is.GreaterThanOrEqualTo(10_000));
        Assert.That(alive.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(f.Dump(), Is.EqualTo(before), "no request changed the cluster");
        Assert.That(statuses.Keys, Does.Contain(400).And.Contains(401).And.Contains(412).And.Contains(501), "the fuzzing reached the handlers");
    }
}
