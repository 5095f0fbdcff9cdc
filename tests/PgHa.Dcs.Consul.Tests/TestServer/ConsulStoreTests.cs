using System.Text;
using Microsoft.Extensions.Time.Testing;
using PgHa.ConsulTestServer;

namespace PgHa.Dcs.Consul.Tests.TestServer;

/// <summary>The test server's Consul semantics, one documented behaviour per test, on a fake clock.</summary>
[TestFixture]
public sealed class ConsulStoreTests
{
    private FakeTimeProvider _time = null!;
    private ConsulStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        _time = new FakeTimeProvider();
        _store = new ConsulStore(new ConsulTestServerOptions { SessionTtlMin = TimeSpan.FromSeconds(1), BlockingQueryJitter = false }, _time);
    }

    [TearDown]
    public void DisposeStore() => _store.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private ConsulSession Session(string ttl = "10s", string behavior = "delete", TimeSpan? lockDelay = null) =>
        _store.CreateSession(new SessionRequest { Ttl = ttl, Behavior = behavior, LockDelay = lockDelay ?? TimeSpan.Zero, NodeChecks = [] });

    [Test]
    public void DefaultSessionTtlMinimumIsTenSecondsAsInConsul()
    {
        using var store = new ConsulStore(new ConsulTestServerOptions(), _time);
        var error = Assert.Throws<ConsulApiException>(() => store.CreateSession(new SessionRequest { Ttl = "9s" }));
        Assert.That(error!.StatusCode, Is.EqualTo(500));
        Assert.That(error.Message, Does.StartWith("Invalid Session TTL '9000000000', must be between [10s=24h0m0s]"));
        Assert.That(store.CreateSession(new SessionRequest { Ttl = "10s" }).Ttl, Is.EqualTo("10s"));
    }

    [Test]
    public void SessionTtlAboveOneDayIsRefused() =>
        Assert.That(Assert.Throws<ConsulApiException>(() => _store.CreateSession(new SessionRequest { Ttl = "25h" }))!.Message, Does.StartWith("Invalid Session TTL"));

    [Test]
    public void SessionDefaultsAreReleaseBehaviorFifteenSecondLockDelayAndSerfHealth()
    {
        var session = _store.CreateSession(new SessionRequest());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(session.Behavior, Is.EqualTo("release"));
            Assert.That(session.LockDelay, Is.EqualTo(TimeSpan.FromSeconds(15)));
            Assert.That(session.NodeChecks, Is.EqualTo(new[] { "serfHealth" }));
            Assert.That(session.Ttl, Is.Empty);
        }
    }

    [Test]
    public void UnknownBehaviorAndUnregisteredCheckAreRefused()
    {
        Assert.That(Assert.Throws<ConsulApiException>(() => _store.CreateSession(new SessionRequest { Behavior = "vanish" }))!.StatusCode, Is.EqualTo(500));
        Assert.That(Assert.Throws<ConsulApiException>(() => _store.CreateSession(new SessionRequest { NodeChecks = ["nope"] }))!.Message, Does.Contain("Missing check 'nope'"));
    }

    [Test]
    public void UnrenewedSessionLivesAtLeastItsTtlAndIsInvalidatedAtTwiceIt()
    {
        var session = Session("10s");
        _time.Advance(TimeSpan.FromSeconds(19.9));
        Assert.That(_store.GetSession(session.Id), Is.Not.Null, "Consul never invalidates before the TTL and may wait up to 2×TTL");
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(_store.GetSession(session.Id), Is.Null, "invalidated at 2×TTL");
    }

    [Test]
    public void RenewalRestartsTheTtl()
    {
        var session = Session("10s");
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.That(_store.RenewSession(session.Id), Is.Not.Null);
        _time.Advance(TimeSpan.FromSeconds(19));
        Assert.That(_store.GetSession(session.Id), Is.Not.Null, "20 s from the renewal, not from the creation");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(_store.GetSession(session.Id), Is.Null);
    }

    [Test]
    public void RenewingAnUnknownSessionFindsNothing() => Assert.That(_store.RenewSession(Guid.NewGuid().ToString()), Is.Null);

    [Test]
    public void DeleteBehaviorDeletesHeldKeysOnInvalidation()
    {
        var session = Session(behavior: "delete");
        Assert.That(_store.Put("k", B("v"), acquire: session.Id), Is.True);
        _store.DestroySession(session.Id);
        Assert.That(_store.Read("k", false).Entries, Is.Empty);
    }

    [Test]
    public void ReleaseBehaviorReleasesHeldKeysAndRaisesTheirModifyIndex()
    {
        var session = Session(behavior: "release");
        Assert.That(_store.Put("k", B("v"), acquire: session.Id), Is.True);
        var before = _store.Read("k", false).Entries.Single();
        _time.Advance(TimeSpan.FromSeconds(20));
        var after = _store.Read("k", false).Entries.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(after.Session, Is.Null, "released by the TTL invalidation");
            Assert.That(after.ModifyIndex, Is.GreaterThan(before.ModifyIndex));
            Assert.That(after.LockIndex, Is.EqualTo(before.LockIndex));
            Assert.That(Encoding.UTF8.GetString(after.Value), Is.EqualTo("v"));
        }
    }

    [Test]
    public void LockDelayBlocksReacquiringAfterInvalidationButNotAfterRelease()
    {
        var first = Session(behavior: "release", lockDelay: TimeSpan.FromSeconds(5));
        var second = Session();
        Assert.That(_store.Put("k", B("a"), acquire: first.Id), Is.True);
        _store.DestroySession(first.Id);
        Assert.That(_store.Put("k", B("b"), acquire: second.Id), Is.False, "within the lock-delay");
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.That(_store.Put("k", B("b"), acquire: second.Id), Is.True, "after the lock-delay");

        Assert.That(_store.Put("k", B("b"), release: second.Id), Is.True);
        var third = Session();
        Assert.That(_store.Put("k", B("c"), acquire: third.Id), Is.True, "an explicit release imposes no lock-delay");
    }

    [Test]
    public void AcquireCreatesTheKeyAndIncrementsLockIndex()
    {
        var session = Session();
        Assert.That(_store.Put("k", B("v"), acquire: session.Id), Is.True);
        var entry = _store.Read("k", false).Entries.Single();
        Assert.That((entry.Session, entry.LockIndex, entry.CreateIndex), Is.EqualTo((session.Id, 1UL, entry.ModifyIndex)));
    }

    [Test]
    public void AcquireByTheHolderUpdatesTheValueWithoutIncrementingLockIndex()
    {
        var session = Session();
        _store.Put("k", B("v1"), acquire: session.Id);
        Assert.That(_store.Put("k", B("v2"), acquire: session.Id), Is.True);
        var entry = _store.Read("k", false).Entries.Single();
        Assert.That((Encoding.UTF8.GetString(entry.Value), entry.LockIndex), Is.EqualTo(("v2", 1UL)));
    }

    [Test]
    public void AcquireOfAKeyHeldByAnotherSessionFailsAndChangesNothing()
    {
        var holder = Session();
        var other = Session();
        _store.Put("k", B("mine"), acquire: holder.Id);
        var before = _store.Read("k", false).Entries.Single();
        Assert.That(_store.Put("k", B("theirs"), acquire: other.Id), Is.False);
        Assert.That(_store.Read("k", false).Entries.Single(), Is.EqualTo(before));
    }

    [Test]
    public void AcquireWithAnUnknownSessionIsAnInvalidSessionError()
    {
        var error = Assert.Throws<ConsulApiException>(() => _store.Put("k", B("v"), acquire: "no-such-session"));
        Assert.That((error!.StatusCode, error.Message), Is.EqualTo((500, "invalid session \"no-such-session\"")));
    }

    [Test]
    public void ReleaseOnlyByTheHolderAndKeepsTheKey()
    {
        var holder = Session();
        var other = Session();
        _store.Put("k", B("v"), acquire: holder.Id);
        Assert.That(_store.Put("k", B("v"), release: other.Id), Is.False, "not the holder");
        Assert.That(_store.Put("k", B("v"), release: holder.Id), Is.True);
        var entry = _store.Read("k", false).Entries.Single();
        Assert.That((entry.Session, entry.LockIndex), Is.EqualTo(((string?)null, 1UL)));
    }

    [Test]
    public void PlainPutOnALockedKeyUpdatesItAndKeepsTheLock()
    {
        var holder = Session();
        _store.Put("k", B("v1"), acquire: holder.Id);
        Assert.That(_store.Put("k", B("v2")), Is.True);
        var entry = _store.Read("k", false).Entries.Single();
        Assert.That((Encoding.UTF8.GetString(entry.Value), entry.Session), Is.EqualTo(("v2", holder.Id)));
    }

    [Test]
    public void CasZeroCreatesOnlyAbsentKeys()
    {
        Assert.That(_store.Put("k", B("1"), cas: 0), Is.True);
        Assert.That(_store.Put("k", B("2"), cas: 0), Is.False);
        Assert.That(Encoding.UTF8.GetString(_store.Read("k", false).Entries.Single().Value), Is.EqualTo("1"));
    }

    [Test]
    public void CasWritesOnlyAtTheCurrentModifyIndex()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Entries.Single().ModifyIndex;
        Assert.That(_store.Put("k", B("2"), cas: index + 1), Is.False, "stale or future index");
        Assert.That(_store.Put("k", B("2"), cas: index), Is.True);
        Assert.That(_store.Put("k", B("3"), cas: index), Is.False, "the index moved");
        Assert.That(_store.Put("absent", B("x"), cas: 5), Is.False, "a non-zero index on an absent key");
    }

    [Test]
    public void DeleteWithCasDeletesOnlyAtTheCurrentIndexAndZeroNeverDeletes()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Entries.Single().ModifyIndex;
        Assert.That(_store.Delete("k", cas: 0), Is.False, "cas=0 takes no action on delete");
        Assert.That(_store.Delete("k", cas: index + 7), Is.False);
        Assert.That(_store.Read("k", false).Entries, Has.Count.EqualTo(1));
        Assert.That(_store.Delete("k", cas: index), Is.True);
        Assert.That(_store.Read("k", false).Entries, Is.Empty);
    }

    [Test]
    public void DeletingAnAbsentKeySucceeds() => Assert.That(_store.Delete("nothing"), Is.True);

    [Test]
    public void RecursiveDeleteRemovesThePrefixOnly()
    {
        _store.Put("a/1", B("x"));
        _store.Put("a/2", B("x"));
        _store.Put("ab", B("x"));
        Assert.That(_store.Delete("a/", recurse: true), Is.True);
        Assert.That(_store.Read("a", true).Entries.Select(e => e.Key), Is.EqualTo(new[] { "ab" }));
    }

    [Test]
    public void RecurseReadsEveryKeyUnderThePrefixInKeyOrder()
    {
        _store.Put("p/b", B("2"));
        _store.Put("p/a", B("1"));
        _store.Put("q", B("3"));
        Assert.That(_store.Read("p/", true).Entries.Select(e => e.Key), Is.EqualTo(new[] { "p/a", "p/b" }));
    }

    [Test]
    public void IndexesRiseWithEveryWriteAndDeletesDoNotMakeAPrefixIndexGoBack()
    {
        _store.Put("p/a", B("1"));
        _store.Put("p/b", B("2"));
        var before = _store.Read("p/", true).Index;
        _store.Delete("p/b");
        var after = _store.Read("p/", true).Index;
        Assert.That(after, Is.GreaterThan(before), "the tombstone of p/b carries the delete's index");
    }

    [Test]
    public void TheIndexOfAnEmptyResultIsNeverZero() => Assert.That(_store.Read("nothing/", true).Index, Is.GreaterThan(0UL));

    [Test]
    public async Task BlockingReadAnswersAtOnceWhenTheResultIsNewerThanTheIndex()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Index;
        _store.Put("k", B("2"));
        var read = _store.ReadBlockingAsync("k", false, index, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.That(read.IsCompleted, Is.True);
        Assert.That((await read).Index, Is.GreaterThan(index));
    }

    [Test]
    public async Task BlockingReadWaitsForAChangeOfItsResult()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Index;
        var read = _store.ReadBlockingAsync("k", false, index, TimeSpan.FromMinutes(1), CancellationToken.None);
        _store.Put("other", B("x"));
        await Task.Yield();
        Assert.That(read.IsCompleted, Is.False, "a write elsewhere does not change this key's result");
        _store.Put("k", B("2"));
        var result = await read.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.That(Encoding.UTF8.GetString(result.Entries.Single().Value), Is.EqualTo("2"));
    }

    [Test]
    public async Task BlockingReadWakesWhenTheSessionHoldingTheKeyExpires()
    {
        var session = Session("10s");
        _store.Put("k", B("v"), acquire: session.Id);
        var index = _store.Read("k", false).Index;
        var read = _store.ReadBlockingAsync("k", false, index, TimeSpan.FromMinutes(5), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(20));
        var result = await read.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.That(result.Entries, Is.Empty);
    }

    [Test]
    public async Task BlockingReadEndsAfterItsWaitWithTheUnchangedResult()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Index;
        var read = _store.ReadBlockingAsync("k", false, index, TimeSpan.FromSeconds(10), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(9));
        await Task.Yield();
        Assert.That(read.IsCompleted, Is.False);
        _time.Advance(TimeSpan.FromSeconds(1));
        var result = await read.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.That(result.Index, Is.EqualTo(index), "no guarantee of a change: the timeout answers the same index");
    }

    [Test]
    public void BlockingWaitIsCappedAtTenMinutesAndDefaultsToFive()
    {
        _store.Put("k", B("1"));
        var index = _store.Read("k", false).Index;
        var capped = _store.ReadBlockingAsync("k", false, index, TimeSpan.FromHours(1), CancellationToken.None);
        var defaulted = _store.ReadBlockingAsync("k", false, index, null, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.That(defaulted.Wait(TimeSpan.FromSeconds(10)), Is.True, "default 5 minutes");
        Assert.That(capped.IsCompleted, Is.False);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.That(capped.Wait(TimeSpan.FromSeconds(10)), Is.True, "capped at 10 minutes");
    }

    [Test]
    public void ValuesAbove512KiBAreRefused() =>
        Assert.That(Assert.Throws<ConsulApiException>(() => _store.Put("k", new byte[ConsulStore.MaxValueSize + 1]))!.StatusCode, Is.EqualTo(413));
}
