using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using EmbeddedService;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PgHa.Cluster.Serialization;
using PgHa.Hosting;
using PgHa.Testing;

namespace PgHa.Embedding.Tests;

/// <summary>
/// The sample service, in-process on a test server, with an in-memory DCS and a PostgreSQL double: the embedded node
/// becomes primary, the service's own endpoint, the health checks and the Patroni API answer from the same app, and
/// stopping the host hands the lock over at once.
/// </summary>
[TestFixture]
public sealed class EmbeddedServiceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private const string Scope = "orders";

    private static WebApplication BuildNode(InMemoryDcsStore store, string name, FakePostgres postgres) =>
        EmbeddedServiceApp.Build([],
            pgha => pgha.UseDcs("in-memory", _ => new InMemoryDcs(store, "service", Scope, name)).UsePostgres(_ => postgres),
            web =>
            {
                web.WebHost.UseTestServer();
                web.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["PgHa:Scope"] = Scope,
                    ["PgHa:Name"] = name,
                    ["PgHa:ApiUrl"] = $"http://{name}:8008/patroni",
                    ["PgHa:PostgresConnectAddress"] = $"{name}:5432",
                    ["PgHa:Ttl"] = "6",
                    ["PgHa:LoopWait"] = "1",
                    ["PgHa:RetryTimeout"] = "2",
                });
            });

    private static async Task WaitUntil(Func<bool> condition, string what, IPgHaNode? node = null)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (deadline.IsCancellationRequested) Assert.Fail($"timed out waiting until {what}; last decision: {node?.Loop.LastCycle?.Plan.Reason}, role {node?.Role}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System).ConfigureAwait(false);
        }
    }

    [Test]
    public async Task SampleServesItsEndpointHealthChecksMetricsAndThePatroniApiAndReleasesTheLockOnStop()
    {
        var store = new InMemoryDcsStore(TimeProvider.System);
        var postgres = new FakePostgres();
        var measurements = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == PgHaMetrics.MeterName) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => { lock (measurements) measurements[i.Name] = v; });
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => { lock (measurements) measurements[i.Name] = v; });
        listener.Start();

        await using var app = BuildNode(store, "orders-1", postgres);
        await app.StartAsync();
        var node = app.Services.GetRequiredService<IPgHaNode>();
        await WaitUntil(() => node.Role == PgHaRole.Primary, "the only node is primary");
        using var http = app.GetTestClient();

        using (var target = JsonDocument.Parse(await http.GetStringAsync(new Uri("/orders/write-target", UriKind.Relative))))
        {
            Assert.That(target.RootElement.GetProperty("member").GetString(), Is.EqualTo("orders-1"));
            Assert.That(target.RootElement.GetProperty("role").GetString(), Is.EqualTo("Primary"));
            Assert.That(target.RootElement.GetProperty("acceptsWrites").GetBoolean(), Is.True);
        }
        await WaitUntil(() => (int)http.GetAsync(new Uri("/healthz", UriKind.Relative)).Result.StatusCode == 200, "/healthz is healthy");
        Assert.That(await http.GetStringAsync(new Uri("/healthz/pgha", UriKind.Relative)), Is.EqualTo("Healthy"));
        Assert.That((int)(await http.GetAsync(new Uri("/primary", UriKind.Relative))).StatusCode, Is.EqualTo(200));
        Assert.That((int)(await http.GetAsync(new Uri("/replica", UriKind.Relative))).StatusCode, Is.EqualTo(503));
        using (var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/patroni", UriKind.Relative))))
        {
            Assert.That(status.RootElement.GetProperty("role").GetString(), Is.EqualTo("master"));
            Assert.That(status.RootElement.GetProperty("timeline").GetInt32(), Is.EqualTo(1));
        }
        Assert.That(await http.GetStringAsync(new Uri("/cluster", UriKind.Relative)), Does.Contain("\"orders-1\""));
        // The host's own routes stay its own: an unknown path is a 404, not one of Patroni's catch-all health checks.
        Assert.That((await http.GetAsync(new Uri("/no-such-page", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await http.GetStringAsync(new Uri("/orders/role-history", UriKind.Relative)), Does.Contain("->Primary"));

        listener.RecordObservableInstruments();
        lock (measurements)
        {
            Assert.That(measurements.GetValueOrDefault("pgha.role"), Is.EqualTo((long)PgHaRole.Primary));
            Assert.That(measurements.GetValueOrDefault("pgha.leader_lock.held"), Is.EqualTo(1));
            Assert.That(measurements.GetValueOrDefault("pgha.dcs.reachable"), Is.EqualTo(1));
            Assert.That(measurements.GetValueOrDefault("pgha.cycles"), Is.GreaterThan(0));
            Assert.That(measurements.GetValueOrDefault("pgha.cycles.failed"), Is.Zero);
            Assert.That(measurements.GetValueOrDefault("pgha.role.changes"), Is.EqualTo(1));
        }

        var prefix = ClusterKeys.Prefix("service", Scope);
        Assert.That(store.PeekLeader(prefix)?.Holder, Is.EqualTo("orders-1"));
        await app.StopAsync();
        Assert.That(store.PeekLeader(prefix), Is.Null, "a clean stop releases the lock so a replica can take over at once");
        Assert.That(postgres.IsRunning, Is.False, "a clean stop stops PostgreSQL");
        Assert.That(postgres.Fence, Is.Null, "the write fence is disarmed after the checkpointed stop");
    }

    [Test]
    public async Task WhenThePrimaryServiceStopsTheReplicaServiceIsPromotedAndRaisesRoleChanged()
    {
        var store = new InMemoryDcsStore(TimeProvider.System);
        var wal = new FakeWal();
        await using var first = BuildNode(store, "orders-1", new FakePostgres(wal));
        await first.StartAsync();
        var firstNode = first.Services.GetRequiredService<IPgHaNode>();
        await WaitUntil(() => firstNode.Role == PgHaRole.Primary, "orders-1 is primary");

        await using var second = BuildNode(store, "orders-2", new FakePostgres(wal));
        var secondNode = second.Services.GetRequiredService<IPgHaNode>();
        var changes = new List<(PgHaRole, PgHaRole)>();
        secondNode.RoleChanged += (_, e) => { lock (changes) changes.Add((e.Previous, e.Current)); };
        await second.StartAsync();
        await WaitUntil(() => secondNode.Role == PgHaRole.Replica, "orders-2 is a replica", secondNode);

        await first.StopAsync();
        await WaitUntil(() => secondNode.Role == PgHaRole.Primary, "orders-2 took over", secondNode);
        Assert.That(secondNode.Loop.LastCycle!.Postgres.Timeline, Is.EqualTo(2));
        lock (changes) Assert.That(changes[^1], Is.EqualTo((PgHaRole.Replica, PgHaRole.Primary)));
        await second.StopAsync();
    }
}
