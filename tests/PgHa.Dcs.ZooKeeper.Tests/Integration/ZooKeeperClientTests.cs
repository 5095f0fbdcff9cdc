using System.Collections.Concurrent;
using System.Text;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>The protocol client against a real ZooKeeper: every operation, error mapping, watches, reconnects, session expiry, auth.</summary>
[TestFixture, Category("Integration")]
public sealed class ZooKeeperClientTests
{
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(10);
    private readonly List<ZooKeeperClient> _clients = [];
    private CancellationTokenSource _deadline = null!;
    private string _root = "";

    private CancellationToken Ct => _deadline.Token;

    [SetUp]
    public async Task CreateRootAsync()
    {
        _deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1), TimeProvider.System);
        _root = ZooKeeperTestEnvironment.NewPath();
        await Client().CreateAsync(_root, [], ZooKeeperCreateMode.Persistent, Ct);
    }

    [TearDown]
    public async Task CleanUpAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        _clients.Clear();
        await using var cleaner = ZooKeeperTestEnvironment.Client();
        await DeleteTreeAsync(cleaner, _root);
        _deadline.Dispose();
    }

    private ZooKeeperClient Client(TimeSpan? sessionTimeout = null, TimeSpan? pingInterval = null, IReadOnlyList<KeyValuePair<string, byte[]>>? auth = null)
    {
        var client = ZooKeeperTestEnvironment.Client(sessionTimeout, pingInterval, auth);
        _clients.Add(client);
        return client;
    }

    [Test]
    public async Task ConnectNegotiatesTheSessionTimeoutWithinTheServersBounds()
    {
        var asked = Client(TimeSpan.FromSeconds(7));
        var tooShort = Client(TimeSpan.FromMilliseconds(500));

        await asked.ConnectAsync(Ct);
        await tooShort.ConnectAsync(Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(asked.SessionId, Is.Not.Zero);
            Assert.That(asked.NegotiatedTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(tooShort.NegotiatedTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)), "raised to the server's minSessionTimeout");
            Assert.That(tooShort.SessionId, Is.Not.EqualTo(asked.SessionId));
        }
    }

    [Test]
    public async Task CrudOperationsAndStats()
    {
        var client = Client();
        var path = _root + "/key";

        var (created, stat) = await client.CreateAsync(path, Encoding.UTF8.GetBytes("one"), ZooKeeperCreateMode.Persistent, Ct);
        var (data, read) = await client.GetDataAsync(path, watch: false, Ct);
        var updated = await client.SetDataAsync(path, Encoding.UTF8.GetBytes("two"), 0, Ct);
        var (children, parent) = await client.GetChildrenAsync(_root, watch: false, Ct);
        var exists = await client.ExistsAsync(path, watch: false, Ct);
        await client.DeleteAsync(path, updated.Version, Ct);
        var gone = await client.ExistsAsync(path, watch: false, Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(created, Is.EqualTo(path));
            Assert.That(stat.Version, Is.Zero);
            Assert.That(stat.EphemeralOwner, Is.Zero, "persistent");
            Assert.That(Encoding.UTF8.GetString(data), Is.EqualTo("one"));
            Assert.That(read.Czxid, Is.EqualTo(stat.Czxid));
            Assert.That(updated.Version, Is.EqualTo(1));
            Assert.That(updated.Mzxid, Is.GreaterThan(stat.Mzxid));
            Assert.That(children, Is.EqualTo(new[] { "key" }));
            Assert.That(parent.NumChildren, Is.EqualTo(1));
            Assert.That(exists?.DataLength, Is.EqualTo(3));
            Assert.That(gone, Is.Null);
        }
    }

    [Test]
    public async Task ServerErrorsThrowTheirCodes()
    {
        var client = Client();
        var path = _root + "/key";
        await client.CreateAsync(path, [], ZooKeeperCreateMode.Persistent, Ct);
        await client.CreateAsync(path + "/child", [], ZooKeeperCreateMode.Persistent, Ct);
        var (_, ephemeral) = await client.CreateAsync(_root + "/eph", [], ZooKeeperCreateMode.Ephemeral, Ct);

        async Task<ZooKeeperErrorCode?> CodeOf(Func<Task> call)
        {
            try
            {
                await call();
                return null;
            }
            catch (ZooKeeperException ex)
            {
                return ex.Code;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await CodeOf(() => client.CreateAsync(path, [], ZooKeeperCreateMode.Persistent, Ct)), Is.EqualTo(ZooKeeperErrorCode.NodeExists));
            Assert.That(await CodeOf(() => client.GetDataAsync(_root + "/nope", false, Ct)), Is.EqualTo(ZooKeeperErrorCode.NoNode));
            Assert.That(await CodeOf(() => client.SetDataAsync(path, [], 5, Ct)), Is.EqualTo(ZooKeeperErrorCode.BadVersion));
            Assert.That(await CodeOf(() => client.DeleteAsync(path, -1, Ct)), Is.EqualTo(ZooKeeperErrorCode.NotEmpty));
            Assert.That(await CodeOf(() => client.CreateAsync(_root + "/eph/child", [], ZooKeeperCreateMode.Persistent, Ct)), Is.EqualTo(ZooKeeperErrorCode.NoChildrenForEphemerals));
            Assert.That(await CodeOf(() => client.CreateAsync(_root + "/a/b", [], ZooKeeperCreateMode.Persistent, Ct)), Is.EqualTo(ZooKeeperErrorCode.NoNode), "no parent");
            Assert.That(ephemeral.EphemeralOwner, Is.EqualTo(client.SessionId));
        }
    }

    [Test]
    public async Task MultiIsAtomic()
    {
        var client = Client();
        var path = _root + "/key";
        await client.CreateAsync(path, [], ZooKeeperCreateMode.Persistent, Ct);

        var failed = await client.MultiAsync(
        [
            new ZooKeeperOp.Create(_root + "/new", [1]),
            new ZooKeeperOp.Check(path, 7),
        ], Ct);
        var createdAfterFailure = await client.ExistsAsync(_root + "/new", false, Ct);

        var succeeded = await client.MultiAsync(
        [
            new ZooKeeperOp.Check(path, 0),
            new ZooKeeperOp.Create(_root + "/new", [1]),
            new ZooKeeperOp.SetData(path, [2], 0),
            new ZooKeeperOp.Delete(_root + "/new"),
        ], Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.Select(r => r.Error), Does.Contain(ZooKeeperErrorCode.BadVersion), "the check failed the multi");
            Assert.That(createdAfterFailure, Is.Null, "the create before the failed check was rolled back");
            Assert.That(succeeded.Select(r => r.Error), Is.All.EqualTo(ZooKeeperErrorCode.Ok));
            Assert.That(succeeded[1].CreatedPath, Is.EqualTo(_root + "/new"));
            Assert.That(succeeded[2].Stat?.Version, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task WatchesFireOnceOnDataChangeCreationAndChildren()
    {
        var watcher = Client();
        var writer = Client();
        var events = new BlockingCollection<ZooKeeperWatchEvent>();
        watcher.WatchTriggered += events.Add;
        var path = _root + "/key";
        await writer.CreateAsync(path, [], ZooKeeperCreateMode.Persistent, Ct);

        await watcher.GetDataAsync(path, watch: true, Ct);
        Assert.That(await watcher.ExistsAsync(_root + "/later", watch: true, Ct), Is.Null);
        await watcher.GetChildrenAsync(_root, watch: true, Ct);
        await writer.SetDataAsync(path, [1], -1, Ct);
        await writer.SetDataAsync(path, [2], -1, Ct); // the data watch fired already: one-shot
        await writer.CreateAsync(_root + "/later", [], ZooKeeperCreateMode.Persistent, Ct);

        var seen = new List<ZooKeeperWatchEvent>();
        while (seen.Count < 3 && events.TryTake(out var e, Promptly)) seen.Add(e);
        Assert.That(events.TryTake(out var extra, TimeSpan.FromMilliseconds(300)), Is.False, $"one event per watch, got also {extra}");
        Assert.That(seen, Is.EquivalentTo(new[]
        {
            new ZooKeeperWatchEvent(ZooKeeperEventType.NodeDataChanged, path),
            new ZooKeeperWatchEvent(ZooKeeperEventType.NodeCreated, _root + "/later"),
            new ZooKeeperWatchEvent(ZooKeeperEventType.NodeChildrenChanged, _root),
        }));
    }

    [Test]
    public async Task AfterAConnectionLossTheSessionIsReestablishedAndMissedChangesFireTheRestoredWatches()
    {
        var watcher = Client();
        var writer = Client();
        var events = new BlockingCollection<ZooKeeperWatchEvent>();
        var states = new ConcurrentQueue<ZooKeeperSessionState>();
        watcher.WatchTriggered += events.Add;
        watcher.StateChanged += (s, _) => states.Enqueue(s);
        var path = _root + "/key";
        await writer.CreateAsync(path, [], ZooKeeperCreateMode.Persistent, Ct);
        var (_, ephemeral) = await watcher.CreateAsync(_root + "/eph", [], ZooKeeperCreateMode.Ephemeral, Ct);
        await watcher.GetDataAsync(path, watch: true, Ct);
        var session = watcher.SessionId;

        watcher.DropConnection("test: network failure");
        await writer.SetDataAsync(path, [1], -1, Ct); // while the watcher is disconnected
        Assert.That(events.TryTake(out _, TimeSpan.FromMilliseconds(300)), Is.False, "no connection, no event yet");
        await watcher.ConnectAsync(Ct);

        Assert.That(events.TryTake(out var fired, Promptly), Is.True, "setWatches with the last zxid fires for the missed change");
        var stillThere = await writer.ExistsAsync(_root + "/eph", false, Ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(fired, Is.EqualTo(new ZooKeeperWatchEvent(ZooKeeperEventType.NodeDataChanged, path)));
            Assert.That(watcher.SessionId, Is.EqualTo(session), "the same session");
            Assert.That(stillThere?.EphemeralOwner, Is.EqualTo(ephemeral.EphemeralOwner), "its ephemeral znode survived");
            Assert.That(states, Is.EqualTo(new[] { ZooKeeperSessionState.Connected, ZooKeeperSessionState.Disconnected, ZooKeeperSessionState.Connected }));
        }
    }

    [Test]
    public async Task AnIdleSessionExpiresAndIsReplacedByANewOneWithoutItsEphemerals()
    {
        var client = Client(TimeSpan.FromSeconds(2));
        var observer = Client();
        var states = new ConcurrentQueue<ZooKeeperSessionState>();
        client.StateChanged += (s, _) => states.Enqueue(s);
        await client.CreateAsync(_root + "/eph", [], ZooKeeperCreateMode.Ephemeral, Ct);
        var first = client.SessionId;

        // No pings: nothing keeps the session alive. The server expires it (2 s, rounded up to a 1 s tick) and hangs up.
        await Task.Delay(TimeSpan.FromSeconds(4), TimeProvider.System, Ct);
        var ephemeral = await observer.ExistsAsync(_root + "/eph", false, Ct);
        await client.ConnectAsync(Ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ephemeral, Is.Null, "the expired session's ephemeral znode is gone");
            Assert.That(client.SessionId, Is.Not.Zero.And.Not.EqualTo(first), "a new session");
            Assert.That(states, Does.Contain(ZooKeeperSessionState.Expired));
        }
    }

    [Test]
    public async Task PingsKeepAnIdleSessionAlive()
    {
        var client = Client(TimeSpan.FromSeconds(2), pingInterval: TimeSpan.FromMilliseconds(500));
        var observer = Client();
        await client.CreateAsync(_root + "/eph", [], ZooKeeperCreateMode.Ephemeral, Ct);
        var session = client.SessionId;

        await Task.Delay(TimeSpan.FromSeconds(4), TimeProvider.System, Ct);

        Assert.That((await observer.ExistsAsync(_root + "/eph", false, Ct))?.EphemeralOwner, Is.EqualTo(session));
        await client.PingAsync(Ct);
        Assert.That(client.SessionId, Is.EqualTo(session));
    }

    [Test]
    public async Task CloseSessionDeletesEphemeralsAtOnce()
    {
        var client = Client();
        var observer = Client();
        await client.CreateAsync(_root + "/eph", [], ZooKeeperCreateMode.Ephemeral, Ct);

        await client.CloseSessionAsync(Ct);

        Assert.That(await observer.ExistsAsync(_root + "/eph", false, Ct), Is.Null);
        Assert.That(client.SessionId, Is.Zero);
    }

    [Test]
    public async Task DigestAuthGrantsAccessToZnodesWithADigestAcl()
    {
        var alice = Client(auth: [KeyValuePair.Create("digest", Encoding.UTF8.GetBytes("alice:secret"))]);
        var anonymous = Client();
        var impostor = Client(auth: [KeyValuePair.Create("digest", Encoding.UTF8.GetBytes("alice:wrong"))]);
        var path = _root + "/private";

        await alice.CreateAsync(path, Encoding.UTF8.GetBytes("x"), ZooKeeperCreateMode.Persistent, Ct, [ZooKeeperAcl.Digest("alice", "secret")]);

        var (data, _) = await alice.GetDataAsync(path, false, Ct);
        var refused = Assert.ThrowsAsync<ZooKeeperException>(() => anonymous.GetDataAsync(path, false, Ct));
        var refusedToo = Assert.ThrowsAsync<ZooKeeperException>(() => impostor.GetDataAsync(path, false, Ct));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(data), Is.EqualTo("x"));
            Assert.That(refused!.Code, Is.EqualTo(ZooKeeperErrorCode.NoAuth));
            Assert.That(refusedToo!.Code, Is.EqualTo(ZooKeeperErrorCode.NoAuth));
        }
        await alice.DeleteAsync(path, -1, Ct);
    }

    [Test]
    public async Task CallsAreCancellableAndAFrozenServerIsGivenUp()
    {
        await using var server = await ZooKeeperServer.StartStandaloneAsync();
        var client = ZooKeeperTestEnvironment.Client(servers: server);
        _clients.Add(client);
        await client.CreateAsync("/x", [], ZooKeeperCreateMode.Persistent, Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(() => client.GetDataAsync("/x", false, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());

        await server.FreezeAsync();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1), TimeProvider.System);
            var started = TimeProvider.System.GetTimestamp();
            Assert.That(() => client.GetDataAsync("/x", false, deadline.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(TimeProvider.System.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(5)), "the deadline ends the call");
            // The client's read timeout (3 s) drops the stuck connection.
            var lost = Assert.ThrowsAsync<ZooKeeperException>(() => client.GetDataAsync("/x", false, Ct));
            Assert.That(lost!.Code, Is.EqualTo(ZooKeeperErrorCode.ConnectionLoss));
        }
        finally
        {
            await server.ThawAsync();
        }
        var (_, stat) = await client.GetDataAsync("/x", false, Ct);
        Assert.That(stat.Version, Is.Zero, "reconnected after the thaw");
    }

    internal static async Task DeleteTreeAsync(ZooKeeperClient client, string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20), TimeProvider.System);
        try
        {
            var (children, _) = await client.GetChildrenAsync(path, false, timeout.Token);
            foreach (var child in children) await DeleteTreeAsync(client, path + "/" + child);
            await client.DeleteAsync(path, -1, timeout.Token);
        }
        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
        {
        }
    }
}
