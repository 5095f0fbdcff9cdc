using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using EmbeddedService;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PgHa.Hosting;
using PgHa.Testing;

namespace PgHa.Embedding.Tests.Dashboard;

/// <summary>
/// The <c>/ui</c> dashboard's actions, clicked in headless Chromium (driven through the DevTools protocol) against a
/// two-node cluster of embedded services whose unsafe endpoints need Basic credentials: a restart without credentials
/// is refused with the API's 401 text and asks for them; with them it restarts; a switchover moves the leadership; a
/// reinitialize re-clones the demoted node; the credentials live in page memory only.
/// </summary>
[TestFixture, Category("Browser")]
public sealed class DashboardActionsTests
{
    private const string User = "admin";
    private const string Password = "s3cret";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static WebApplication Node(InMemoryDcsStore store, FakePostgres postgres, string name, int port) =>
        EmbeddedServiceApp.Build([],
            pgha => pgha.UseDcs("in-memory", _ => new InMemoryDcs(store, "service", "orders", name)).UsePostgres(_ => postgres),
            web =>
            {
                web.WebHost.UseUrls($"http://127.0.0.1:{port}");
                web.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["PgHa:Scope"] = "orders",
                    ["PgHa:Name"] = name,
                    // Real addresses: the switchover's candidate check asks the candidate's /patroni.
                    ["PgHa:ApiUrl"] = $"http://127.0.0.1:{port}/patroni",
                    ["PgHa:PostgresConnectAddress"] = $"{name}.invalid:5432",
                    ["PgHa:Ttl"] = "6",
                    ["PgHa:LoopWait"] = "1",
                    ["PgHa:RetryTimeout"] = "2",
                    ["RestApi:Authentication:Username"] = User,
                    ["RestApi:Authentication:Password"] = Password,
                });
            });

    private static async Task WaitForRolesAsync(IPgHaNode primary, IPgHaNode replica)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (primary.Role != PgHaRole.Primary || replica.Role != PgHaRole.Replica)
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, deadline.Token);
    }

    private static string Result => "document.getElementById('result').textContent";

    private static async Task<string> ResultAsync(HeadlessChromium page) => (string?)await page.EvaluateAsync(Result) ?? "";

    [Test]
    public async Task RestartSwitchoverAndReinitializeAreClickedThroughTheDashboardBehindBasicAuth()
    {
        if (HeadlessChromium.Executable is null) Assert.Ignore("chromium is not installed (scripts/test installs Debian's chromium when run as root)");
        var store = new InMemoryDcsStore(TimeProvider.System);
        var wal = new FakeWal();
        var pg1 = new FakePostgres(wal);
        var pg2 = new FakePostgres(wal);
        var (port1, port2) = (FreePort(), FreePort());
        await using var first = Node(store, pg1, "orders-1", port1);
        await first.StartAsync();
        var firstNode = first.Services.GetRequiredService<IPgHaNode>();
        await using var second = Node(store, pg2, "orders-2", port2);
        await second.StartAsync();
        var secondNode = second.Services.GetRequiredService<IPgHaNode>();
        await WaitForRolesAsync(firstNode, secondNode);

        await using var page = await HeadlessChromium.StartAsync();
        try
        {
            var ui = $"http://127.0.0.1:{port1}/ui";
            await page.NavigateAsync(ui);
            await page.WaitForAsync("document.querySelector('tr[data-member=\"orders-2\"]') && document.getElementById('self').textContent === 'orders-1'", "both members and the serving node");

            // 1. Restart without credentials: confirmed, the API answers 401, the page asks for credentials; cancelled.
            await page.ClickAsync("tr[data-member=\"orders-1\"] button");
            await page.WaitForAsync("document.getElementById('confirm').open", "the confirmation");
            Assert.That((string?)await page.EvaluateAsync("document.getElementById('confirm-text').textContent"), Is.EqualTo("Restart PostgreSQL on orders-1?"));
            await page.ClickAsync("#confirm-ok");
            await page.WaitForAsync("document.getElementById('login').open", "the credentials dialog");
            Assert.That((string?)await page.EvaluateAsync("document.getElementById('login-reason').textContent"), Is.EqualTo("no auth header received"));
            // Wrong credentials: asked again, with the API's reason.
            await page.TypeAsync("#login-user", User);
            await page.TypeAsync("#login-password", "guess");
            await page.ClickAsync("#login-ok");
            await page.WaitForAsync("document.getElementById('login').open && document.getElementById('login-reason').textContent === 'not authenticated'", "the credentials dialog again");
            await page.ClickAsync("#login-cancel");
            await page.WaitForAsync($"{Result}.includes('401')", "the refusal");
            Assert.That(await ResultAsync(page), Is.EqualTo("POST /restart → 401: not authenticated"));
            Assert.That(pg1.RestartCount, Is.Zero, "nothing restarted without credentials");
            var refused = Png.Read(await page.ScreenshotAsync());
            Assert.That(refused.Count((0xfb, 0xe0, 0xde)), Is.GreaterThan(1000), "the refusal is drawn in the error colour");

            // 2. Restart with credentials.
            await page.ClickAsync("tr[data-member=\"orders-1\"] button");
            await page.WaitForAsync("document.getElementById('confirm').open", "the confirmation");
            await page.ClickAsync("#confirm-ok");
            await page.WaitForAsync("document.getElementById('login').open", "the credentials dialog");
            await page.TypeAsync("#login-user", User);
            await page.TypeAsync("#login-password", Password);
            await page.ClickAsync("#login-ok");
            await page.WaitForAsync($"{Result}.includes('restarted')", "the restart's answer");
            Assert.That(await ResultAsync(page), Is.EqualTo("POST /restart → 200: restarted successfully"));
            Assert.That(pg1.RestartCount, Is.EqualTo(1));

            // 3. Switchover to orders-2: the credentials given above are still in the page's memory, so no dialog.
            await page.WaitForAsync("[...document.getElementById('candidate').options].some(o => o.value === 'orders-2')", "the candidate list");
            await page.ClickAsync("#switchover-button");
            await page.WaitForAsync("document.getElementById('confirm').open", "the confirmation");
            Assert.That((string?)await page.EvaluateAsync("document.getElementById('confirm-text').textContent"), Does.StartWith("Switch over from orders-1 to orders-2?"));
            await page.ClickAsync("#confirm-ok");
            await page.WaitForAsync($"{Result}.includes('/switchover')", "the switchover's answer", TimeSpan.FromSeconds(60));
            Assert.That(await ResultAsync(page), Is.EqualTo("POST /switchover → 200: Successfully switched over to \"orders-2\""));
            Assert.That((bool?)await page.EvaluateAsync("document.getElementById('login').open"), Is.False);
            await WaitForRolesAsync(secondNode, firstNode);
            await page.WaitForAsync("document.querySelector('tr[data-member=\"orders-2\"] .badge.leader') && document.querySelector('tr[data-member=\"orders-1\"] .badge.replica')", "the new roles");
            var switched = Png.Read(await page.ScreenshotAsync());
            Assert.That(switched.Count((0xd9, 0xf2, 0xe0)), Is.GreaterThan(1000), "the answer is drawn in the success colour");
            Assert.That(switched.Count((0x1f, 0x7a, 0x3a)), Is.GreaterThan(100), "the leader's green badge is drawn");
            Assert.That(switched.Count((0x24, 0x58, 0xa6)), Is.GreaterThan(100), "the replica's blue badge is drawn");

            // 4. orders-1 is a replica now: its row offers Reinitialize.
            await page.WaitForAsync("[...document.querySelectorAll('tr[data-member=\"orders-1\"] button')].some(b => b.textContent === 'Reinitialize')", "the reinitialize button");
            await page.ClickAsync("tr[data-member=\"orders-1\"] button:nth-of-type(2)");
            await page.WaitForAsync("document.getElementById('confirm').open && !document.getElementById('confirm-force-label').hidden", "the confirmation with force");
            await page.ClickAsync("#confirm-ok");
            await page.WaitForAsync($"{Result}.includes('/reinitialize')", "the reinitialize answer");
            Assert.That(await ResultAsync(page), Is.EqualTo("POST /reinitialize → 200: reinitialize started"));
            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                while (pg1.ReinitializeCount == 0) await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, deadline.Token);
            }

            // 5. Nothing was stored: no cookies or web storage, and a reloaded page asks again.
            Assert.That((string?)await page.EvaluateAsync("document.cookie + '|' + localStorage.length + '|' + sessionStorage.length"), Is.EqualTo("|0|0"));
            await page.NavigateAsync(ui);
            await page.WaitForAsync("document.querySelector('tr[data-member=\"orders-1\"] button')", "the reloaded page");
            await page.ClickAsync("tr[data-member=\"orders-1\"] button");
            await page.WaitForAsync("document.getElementById('confirm').open", "the confirmation");
            await page.ClickAsync("#confirm-ok");
            await page.WaitForAsync("document.getElementById('login').open", "the credentials dialog after a reload");
            await page.ClickAsync("#login-cancel");
            await page.WaitForAsync($"{Result}.includes('401')", "the refusal");
            Assert.That(pg1.RestartCount, Is.EqualTo(1));
        }
        finally
        {
            await second.StopAsync();
            await first.StopAsync();
        }
    }
}
