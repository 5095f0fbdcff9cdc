using Microsoft.Extensions.Time.Testing;

namespace PgHa.Dcs.Etcd.Tests;

/// <summary>
/// The bookkeeping of the watch-fed copy of a cluster prefix, without etcd: what it contains after reads and events, when
/// loads may trust it, read-your-writes, and which changes wake a waiter.
/// </summary>
[TestFixture]
public sealed class EtcdKvCacheTests
{
    private const string Prefix = "/service/batman/";
    private static readonly string Leader = Key("leader");
    private static readonly string Config = Key("config");
    private static readonly string Failover = Key("failover");

    private readonly FakeTimeProvider _time = new();

    [Test]
    public void ContentIsTheReadPlusTheEventsAfterIt()
    {
        var cache = Live(out var stream, Kv("members/node1", "a", 10), Kv("config", "{}", 5));
        cache.Apply([Put("members/node2", "b", 12), Delete("config", 12), Put("members/node1", "c", 13)]);

        Assert.That(cache.TryRead(0, out var kvs, out var revision), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(revision, Is.EqualTo(13));
            Assert.That(kvs.Select(kv => (kv.Key[Prefix.Length..], kv.Value, kv.ModRevision)),
                Is.EqualTo(new[] { ("members/node1", "c", 13L), ("members/node2", "b", 12L) }), "in etcd's key order");
        }
        stream.Dispose();
    }

    [Test]
    public void IsTrustedOnlyWhileAStreamIsLiveAndAReadIssuedDuringItWasMerged()
    {
        var cache = new EtcdKvCache([Leader, Config, Failover]);
        var before = cache.BeginRead();
        cache.Merge([Kv("config", "{}", 5)], 10, before);
        Assert.That(cache.TryRead(0, out _, out _), Is.False, "no stream");

        using var stream = new CancellationTokenSource();
        Assert.That(cache.StreamCreated(stream.Token), Is.True);
        Assert.That(cache.TryRead(0, out _, out _), Is.False, "the stream may still be catching up on what happened before it");
        var early = cache.BeginRead();

        cache.StreamEnded();
        Assert.That(cache.StreamCreated(stream.Token), Is.True);
        cache.Merge([Kv("config", "{}", 5)], 11, early);
        Assert.That(cache.TryRead(0, out _, out _), Is.False, "a read issued during an earlier stream proves nothing about this one");

        cache.Merge([Kv("config", "{}", 5)], 12, cache.BeginRead());
        Assert.That(cache.TryRead(0, out _, out var revision), Is.True);
        Assert.That(revision, Is.EqualTo(12));

        cache.StreamEnded();
        Assert.That(cache.TryRead(0, out _, out _), Is.False, "the stream ended");
        Assert.That(cache.HasContent, Is.True, "the content stays to resume from");
    }

    [Test]
    public void AStreamConfirmedAfterItWasCancelledIsRefused()
    {
        var cache = new EtcdKvCache([Leader]);
        using var stream = new CancellationTokenSource();
        stream.Cancel();

        Assert.That(cache.StreamCreated(stream.Token), Is.False);
        cache.Merge([], 3, cache.BeginRead());
        Assert.That(cache.IsTrusted, Is.False);
    }

    [Test]
    public async Task ReadsIncludeOwnWritesOrWaitForTheStreamToDeliverThem()
    {
        var cache = Live(out var stream, Kv("config", "{}", 5));

        Assert.That(cache.TryRead(11, out _, out _), Is.False, "our write at 11 is not in the content yet");
        var waiting = cache.WaitForRevisionAsync(11, TimeSpan.FromSeconds(1), _time, CancellationToken.None);
        Assert.That(waiting.IsCompleted, Is.False);
        cache.Apply([Put("members/node1", "x", 11)]);
        Assert.That(await waiting, Is.True);
        Assert.That(cache.TryRead(11, out _, out _), Is.True);

        var late = cache.WaitForRevisionAsync(20, TimeSpan.FromSeconds(1), _time, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await late, Is.False, "not delivered in time");

        var ended = cache.WaitForRevisionAsync(20, TimeSpan.FromSeconds(1), _time, CancellationToken.None);
        cache.StreamEnded();
        Assert.That(await ended, Is.False, "a stream that ends will not deliver it");
        stream.Dispose();
    }

    [Test]
    public void AReadAnsweredBeforeNewerEventsKeepsTheNewerContent()
    {
        var cache = Live(out var stream, Kv("config", "{}", 5));
        var ticket = cache.BeginRead();
        cache.Apply([Put("config", "{\"ttl\":30}", 12)]);

        Assert.That(cache.Merge([Kv("config", "{}", 5)], 11, ticket), Is.True, "etcd answered at 11 before the stream delivered 12");

        Assert.That(cache.TryRead(0, out var kvs, out var revision), Is.True);
        Assert.That((revision, kvs.Single().Value), Is.EqualTo((12L, "{\"ttl\":30}")));
        stream.Dispose();
    }

    [Test]
    public void EventsAlreadyInAMergedReadAreNotAppliedAgain()
    {
        var cache = Live(out var stream, Kv("config", "{}", 5));
        cache.Merge([Kv("config", "b", 14)], 15, cache.BeginRead());

        cache.Apply([Put("config", "a", 12), Delete("config", 13)]);
        Assert.That(cache.TryRead(0, out var kvs, out var revision), Is.True);
        Assert.That((revision, kvs.Single().Value), Is.EqualTo((15L, "b")));

        cache.Apply([Put("config", "c", 16), Put("failover", "{}", 16)]);
        Assert.That(cache.TryRead(0, out kvs, out revision), Is.True);
        Assert.That((revision, kvs.Length), Is.EqualTo((16L, 2)), "both events of one revision apply");
        stream.Dispose();
    }

    [Test]
    public async Task AReadOlderThanWhatWasKnownBeforeItMeansEtcdWentBack()
    {
        var cache = Live(out var stream, Kv("config", "{}", 5));
        cache.Apply([Put("status", "{}", 50)]);
        var waiting = cache.WaitForDecisionChangeAsync(50, Timeout.InfiniteTimeSpan, _time, CancellationToken.None);

        Assert.That(cache.Merge([Kv("config", "restored", 20)], 30, cache.BeginRead()), Is.False);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cache.Revision, Is.EqualTo(30), "the restored state replaces the copy");
            Assert.That(cache.IsTrusted, Is.False, "until a new stream and read");
            Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System), Is.True, "everyone re-reads");
        }
        stream.Dispose();
    }

    [Test]
    public async Task OnlyDecisionKeysChangedAfterTheReaderLoadedWake()
    {
        var cache = Live(out var stream, Kv("leader", "node1", 5));

        var waiting = cache.WaitForDecisionChangeAsync(10, TimeSpan.FromSeconds(2), _time, CancellationToken.None);
        cache.Apply([Put("members/node2", "m", 11), Put("status", "s", 12), Put("sync", "y", 13), Put("history", "h", 14)]);
        Assert.That(waiting.IsCompleted, Is.False, "members, status, sync and history do not wake");
        cache.Apply([Put("failover", "{}", 15)]);
        Assert.That(await waiting, Is.True);

        Assert.That(await cache.WaitForDecisionChangeAsync(14, TimeSpan.FromSeconds(2), _time, CancellationToken.None), Is.True,
            "a change delivered after the reader's load wakes at once");
        var afterIt = cache.WaitForDecisionChangeAsync(15, TimeSpan.FromSeconds(2), _time, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await afterIt, Is.False, "a change the reader already read does not wake it");

        var late = cache.WaitForDecisionChangeAsync(15, TimeSpan.FromSeconds(2), _time, CancellationToken.None);
        cache.Apply([Delete("leader", 16)]);
        Assert.That(await late, Is.True, "the leader key's deletion (expiry) wakes");
        stream.Dispose();
    }

    [Test]
    public async Task ADecisionChangeSeenFirstByAReadStillWakesTheOthers()
    {
        var cache = Live(out var stream, Kv("leader", "node1", 5));
        var waiting = cache.WaitForDecisionChangeAsync(10, TimeSpan.FromSeconds(2), _time, CancellationToken.None);

        // Another load of the same connection read the deletion before the stream delivered it: the stream will skip it.
        cache.Merge([], 16, cache.BeginRead());
        cache.Apply([Delete("leader", 16)]);

        Assert.That(await waiting, Is.True);
        stream.Dispose();
    }

    [Test]
    public async Task ACompactedStartDropsTheContentAndWakesEveryoneWhoReadBeforeTheNextBase()
    {
        var cache = Live(out var stream, Kv("config", "{}", 5));
        var waiting = cache.WaitForDecisionChangeAsync(10, Timeout.InfiniteTimeSpan, _time, CancellationToken.None);

        cache.Compacted(40);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System), Is.True, "a change may have been missed");
            Assert.That(cache.HasContent, Is.False);
            Assert.That(cache.TryRead(0, out _, out _), Is.False);
        }
        var loadedBeforeTheBase = cache.WaitForDecisionChangeAsync(45, Timeout.InfiniteTimeSpan, _time, CancellationToken.None);
        cache.Merge([Kv("config", "{}", 5)], 50, cache.BeginRead());
        Assert.That(await loadedBeforeTheBase.WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System), Is.True, "changes between 45 and 50 were never delivered");
        stream.Dispose();
    }

    [Test]
    public async Task AWaitEndsWithItsTimeoutOrCancellation()
    {
        var cache = Live(out var stream);
        var timed = cache.WaitForDecisionChangeAsync(1, TimeSpan.FromSeconds(2), _time, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.That(timed.IsCompleted, Is.False);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(await timed, Is.False);

        using var cancel = new CancellationTokenSource();
        var cancelled = cache.WaitForDecisionChangeAsync(1, Timeout.InfiniteTimeSpan, _time, cancel.Token);
        await cancel.CancelAsync();
        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());
        stream.Dispose();
    }

    private EtcdKvCache Live(out CancellationTokenSource stream, params EtcdKeyValue[] kvs)
    {
        var cache = new EtcdKvCache([Leader, Config, Failover]);
        stream = new CancellationTokenSource();
        cache.Merge(kvs, 10, cache.BeginRead());
        Assert.That(cache.StreamCreated(stream.Token), Is.True);
        cache.Merge(kvs, 10, cache.BeginRead());
        Assert.That(cache.IsTrusted, Is.True, "precondition: a live, fresh copy");
        return cache;
    }

    private static string Key(string relative) => Prefix + relative;

    private static EtcdKeyValue Kv(string key, string value, long modRevision) => new(Key(key), value, modRevision, modRevision, 1, 0);

    private static EtcdEvent Put(string key, string value, long revision) => new(IsDelete: false, Kv(key, value, revision));

    private static EtcdEvent Delete(string key, long revision) => new(IsDelete: true, new EtcdKeyValue(Key(key), "", 0, revision, 0, 0));
}
