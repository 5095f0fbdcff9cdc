using System.Diagnostics;
using EmbeddedService;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PgHa.Hosting;
using PgHa.Testing;

namespace PgHa.Embedding.Tests.Dashboard;

/// <summary>
/// The <c>/ui</c> dashboard in headless Chromium (Debian's <c>chromium</c>, installed by scripts/test) against a
/// two-node cluster of embedded services: the rendered page lists both members with their roles, and the screenshot
/// shows the leader's green and the replica's blue role badges.
/// </summary>
[TestFixture, Category("Browser")]
public sealed class DashboardTests
{
    private static readonly string? Chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    private static WebApplication Node(InMemoryDcsStore store, FakeWal wal, string name) =>
        EmbeddedServiceApp.Build([],
            pgha => pgha.UseDcs("in-memory", _ => new InMemoryDcs(store, "service", "orders", name)).UsePostgres(_ => new FakePostgres(wal)),
            web =>
            {
                web.WebHost.UseUrls("http://127.0.0.1:0");
                web.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["PgHa:Scope"] = "orders",
                    ["PgHa:Name"] = name,
                    ["PgHa:ApiUrl"] = $"http://{name}.invalid:8008/patroni",
                    ["PgHa:PostgresConnectAddress"] = $"{name}.invalid:5432",
                    ["PgHa:Ttl"] = "6",
                    ["PgHa:LoopWait"] = "1",
                    ["PgHa:RetryTimeout"] = "2",
                });
            });

    private static async Task<string> RunChromiumAsync(string profile, params string[] arguments)
    {
        var start = new ProcessStartInfo(Chromium!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1200,800", "--virtual-time-budget=5000" }.Concat(arguments))
            start.ArgumentList.Add(argument);
        start.Environment["HOME"] = profile;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        if (process.ExitCode != 0) Assert.Fail($"chromium exited with {process.ExitCode}: {await stderr}");
        return output;
    }

    [Test]
    public async Task TheDashboardShowsTheClusterInHeadlessChromium()
    {
        if (Chromium is null) Assert.Ignore("chromium is not installed (scripts/test installs Debian's chromium when run as root)");
        var store = new InMemoryDcsStore(TimeProvider.System);
        var wal = new FakeWal();
        await using var primary = Node(store, wal, "orders-1");
        await primary.StartAsync();
        var primaryNode = primary.Services.GetRequiredService<IPgHaNode>();
        await using var replica = Node(store, wal, "orders-2");
        await replica.StartAsync();
        var replicaNode = replica.Services.GetRequiredService<IPgHaNode>();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (primaryNode.Role != PgHaRole.Primary || replicaNode.Role != PgHaRole.Replica)
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, deadline.Token);
        }

        var address = primary.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var profile = Directory.CreateTempSubdirectory("pgha-chromium-").FullName;
        try
        {
            var dom = await RunChromiumAsync(profile, "--dump-dom", address + "/ui");
            Assert.That(dom, Does.Contain("<tr data-member=\"orders-1\">"));
            Assert.That(dom, Does.Contain("<tr data-member=\"orders-2\">"));
            Assert.That(dom, Does.Contain("<span class=\"badge leader\">Leader</span>"));
            Assert.That(dom, Does.Contain("<span class=\"badge replica\">Replica</span>"));
            Assert.That(dom, Does.Contain("<span id=\"scope\">orders</span>"));

            var screenshot = Path.Combine(profile, "ui.png");
            await RunChromiumAsync(profile, "--screenshot=" + screenshot, address + "/ui");
            var png = Png.Read(await File.ReadAllBytesAsync(screenshot));
            Assert.That((png.Width, png.Height), Is.EqualTo((1200, 800)));
            // The badges' background colours from the page's stylesheet: one leader (green), one replica (blue).
            Assert.That(png.Count((0x1f, 0x7a, 0x3a)), Is.GreaterThan(100), "the leader's green badge is drawn");
            Assert.That(png.Count((0x24, 0x58, 0xa6)), Is.GreaterThan(100), "the replica's blue badge is drawn");
            Assert.That(png.Count((0xc7, 0x77, 0x00)), Is.Zero, "no maintenance-mode badge: the cluster is not paused");
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
            await replica.StopAsync();
            await primary.StopAsync();
        }
    }
}
