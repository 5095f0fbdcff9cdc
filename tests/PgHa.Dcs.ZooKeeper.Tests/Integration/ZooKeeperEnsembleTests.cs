using System.Collections.Concurrent;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>A three-server ensemble on loopback: the client moves its session to another server when the one it is connected to is killed.</summary>
[TestFixture, Category("Integration")]
public sealed class ZooKeeperEnsembleTests
{
    [Test]
    public async Task KillingTheConnectedServerMovesTheSessionWithItsEphemeralsAndWatches()
    {
        var servers = await ZooKeeperServer.StartEnsembleAsync(3);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2), TimeProvider.System);
            var ct = deadline.Token;
            await using var client = ZooKeeperTestEnvironment.Client(TimeSpan.FromSeconds(10), servers: [.. servers]);
            await using var writer = ZooKeeperTestEnvironment.Client(TimeSpan.FromSeconds(10), servers: [.. servers]);
            var events = new BlockingCollection<ZooKeeperWatchEvent>();
            client.WatchTriggered += events.Add;
            await client.CreateAsync("/lock", [1], ZooKeeperCreateMode.Ephemeral, ct);
            await writer.CreateAsync("/config", [], ZooKeeperCreateMode.Persistent, ct);
            await client.GetDataAsync("/config", watch: true, ct);
            var session = client.SessionId;
            var connected = servers.Single(s => s.ClientPort == client.ConnectedServer!.Port);

            await connected.KillAsync();
            // The next request notices the loss, then moves to a survivor with the same session.
            var retries = 0;
            while (true)
            {
                try
                {
                    await client.SyncAsync("/lock", ct);
                    break;
                }
                catch (ZooKeeperException ex) when (ex.IsConnectionProblem && ++retries < 20)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System, ct);
                }
            }
            var (_, stat) = await client.GetDataAsync("/lock", false, ct);
            await writer.SetDataAsync("/config", [2], -1, ct);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(client.SessionId, Is.EqualTo(session), "the session moved, it was not replaced");
                Assert.That(client.ConnectedServer?.Port, Is.Not.EqualTo(connected.ClientPort));
                Assert.That(stat.EphemeralOwner, Is.EqualTo(session), "the ephemeral znode survived the move");
                Assert.That(events.TryTake(out var fired, TimeSpan.FromSeconds(10)), Is.True, "the watch was re-set on the new server");
                Assert.That(fired?.Path, Is.EqualTo("/config"));
            }
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
        }
    }

    [Test]
    public async Task ConnectionLossIsNotLockLossTheHolderRenewsThroughAnotherServer()
    {
        var servers = await ZooKeeperServer.StartEnsembleAsync(3);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2), TimeProvider.System);
            var ct = deadline.Token;
            var ttl = TimeSpan.FromSeconds(10);
            ZooKeeperDcs Connect(string name) => new(new ZooKeeperDcsOptions
            {
                Hosts = [string.Join(",", servers.Select(s => s.Endpoint))],
                Scope = "ensemble",
                Name = name,
                Ttl = ttl,
                RequestTimeout = TimeSpan.FromSeconds(8),
                ServerTickTime = ZooKeeperServer.TickTime,
            }, TimeProvider.System);
            await using var holder = Connect("node1");
            await using var other = Connect("node2");
            var held = await holder.TryAcquireLeaderLockAsync(ttl, ct);
            Assert.That(held, Is.Not.Null);
            var session = holder.SessionId;
            var connected = servers.Single(s => s.ClientPort == holder.ConnectedServer!.Port);

            await connected.KillAsync();
            var renewed = await holder.TryRenewLeaderLockAsync(held!, ttl, ct);
            var seen = await other.LoadClusterAsync(ct);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(renewed, Is.Not.Null, "the renewal went to a surviving server under the same session");
                Assert.That(holder.SessionId, Is.EqualTo(session));
                Assert.That(holder.ConnectedServer?.Port, Is.Not.EqualTo(connected.ClientPort));
                Assert.That(seen.Leader?.Holder, Is.EqualTo("node1"), "nobody else could take the lock");
                Assert.That(await other.TryAcquireLeaderLockAsync(ttl, ct), Is.Null);
            }
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
        }
    }
}
