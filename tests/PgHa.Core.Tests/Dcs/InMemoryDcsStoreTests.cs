using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Testing;

namespace PgHa.Core.Tests.Dcs;

[TestFixture]
public sealed class InMemoryDcsStoreTests
{
    private const string Prefix = "/service/batman/";
    private const string LeaderKey = Prefix + ClusterKeys.Leader;
    private const string ConfigKey = Prefix + ClusterKeys.Config;
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OneTick = TimeSpan.FromTicks(1);

    private FakeTimeProvider _time = null!;
    private InMemoryDcsStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        _time = new FakeTimeProvider();
        _store = new InMemoryDcsStore(_time);
    }

    [Test]
    public void LockIsHeldUntilOneTickBeforeTtlAndGoneAtTtl()
    {
        Assert.That(_store.TryAcquireLeader(Prefix, "node1", Ttl), Is.Not.Null);

        _time.Advance(Ttl - OneTick);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.PeekLeader(Prefix)?.Holder, Is.EqualTo("node1"));
            Assert.That(_store.TryAcquireLeader(Prefix, "node2", Ttl), Is.Null, "still held one tick before expiry");
        }

        _time.Advance(OneTick);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.PeekLeader(Prefix), Is.Null);
            Assert.That(_store.TryAcquireLeader(Prefix, "node2", Ttl)?.Holder, Is.EqualTo("node2"), "gone once now == expiresAt");
        }
    }

    [Test]
    public void RenewalExtendsTheTtlFromTheRenewalButKeepsTheVersion()
    {
        var start = _time.GetUtcNow();
        var acquired = _store.TryAcquireLeader(Prefix, "node1", Ttl);
        var revision = _store.Revision;
        _time.Advance(TimeSpan.FromSeconds(20));

        var renewed = _store.TryRenewLeader(Prefix, "node1", acquired!, Ttl);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(renewed?.Version, Is.EqualTo(acquired!.Version), "a renewal is not a change");
            Assert.That(_store.Revision, Is.EqualTo(revision));
            Assert.That(_store.PeekLeader(Prefix)?.ExpiresAt, Is.EqualTo(start + TimeSpan.FromSeconds(20) + Ttl));
        }
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.That(_store.ReadAll(Prefix).Single().Version, Is.EqualTo(acquired.Version), "alive past the first expiry, same version");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(_store.ReadAll(Prefix), Is.Empty, "expired ttl after the renewal");
    }

    [Test]
    public void RenewalNeedsTheHolderAndTheCurrentVersion()
    {
        var first = _store.TryAcquireLeader(Prefix, "node1", Ttl)!;
        Assert.That(_store.ReleaseLeader(Prefix, "node1"), Is.True);
        var second = _store.TryAcquireLeader(Prefix, "node1", Ttl)!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.TryRenewLeader(Prefix, "node1", first, Ttl), Is.Null, "stale version");
            Assert.That(_store.TryRenewLeader(Prefix, "node2", second, Ttl), Is.Null, "not the holder");
            Assert.That(_store.TryRenewLeader(Prefix, "node1", second, Ttl), Is.SameAs(second), "current lock, returned as is");
        }
    }

    [Test]
    public void TouchingAnUnchangedMemberRefreshesItsTtlWithoutANewVersion()
    {
        Assert.That(_store.TouchMember(Prefix, "node1", """{"state":"running"}""", Ttl), Is.True, "created");
        var created = _store.ReadAll(Prefix).Single();
        var revision = _store.Revision;
        _time.Advance(TimeSpan.FromSeconds(20));

        var changed = _store.TouchMember(Prefix, "node1", """{"state":"running"}""", Ttl);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(changed, Is.False);
            Assert.That(_store.Revision, Is.EqualTo(revision));
        }
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.That(_store.ReadAll(Prefix).Single().Version, Is.EqualTo(created.Version), "kept alive by the refresh");

        Assert.That(_store.TouchMember(Prefix, "node1", """{"state":"stopped"}""", Ttl), Is.True, "a new value is a change");
        Assert.That(_store.ReadAll(Prefix).Single().Version, Is.Not.EqualTo(created.Version));
    }

    [Test]
    public void ChangeCountersFollowWritesAndDeletesButNotRefusedWritesOrRenewals()
    {
        var held = _store.TryAcquireLeader(Prefix, "node1", Ttl)!;
        var afterAcquire = _store.Revision;
        Assert.That(_store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.IfAbsent), Is.True);
        var afterWrite = _store.Revision;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.GetChangeCounter(Prefix), Is.EqualTo(afterWrite), "the prefix saw the latest change");
            Assert.That(_store.GetChangeCounter(LeaderKey), Is.EqualTo(afterAcquire), "the leader key saw only its own");
            Assert.That(_store.GetChangeCounter(ConfigKey), Is.EqualTo(afterWrite));
            Assert.That(_store.GetChangeCounter("/service/robin/"), Is.Zero, "an untouched cluster");
        }

        Assert.That(_store.TryRenewLeader(Prefix, "node1", held, Ttl), Is.Not.Null);
        Assert.That(_store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.IfAbsent), Is.False);
        Assert.That(_store.GetChangeCounter(Prefix), Is.EqualTo(afterWrite), "renewals and refused writes are not changes");

        Assert.That(_store.TryDelete(Prefix, ClusterKeys.Config, WriteCondition.Always), Is.True);
        Assert.That(_store.GetChangeCounter(ConfigKey), Is.EqualTo(afterWrite + 1), "a delete is a change");
    }

    [Test]
    public void AnExpiryBecomesAChangeWhenItIsObserved()
    {
        _store.TryAcquireLeader(Prefix, "node1", Ttl);
        var acquired = _store.GetChangeCounter(LeaderKey);
        _time.Advance(Ttl);
        Assert.That(_store.GetChangeCounter(LeaderKey), Is.EqualTo(acquired), "nobody has looked yet");

        Assert.That(_store.ReadAll(Prefix), Is.Empty);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.GetChangeCounter(LeaderKey), Is.EqualTo(acquired + 1));
            Assert.That(_store.Revision, Is.EqualTo(acquired + 1));
        }
    }

    [Test]
    public void PeekLeaderLeavesAnExpiredLockForTheNextAccess()
    {
        _store.TryAcquireLeader(Prefix, "node1", Ttl);
        _time.Advance(Ttl);
        var revision = _store.Revision;

        Assert.That(_store.PeekLeader(Prefix), Is.Null);

        Assert.That(_store.Revision, Is.EqualTo(revision), "observing must not change the store");
    }

    [Test]
    public void WaitForChangeWakesAtTheInstantAWatchedLockExpires()
    {
        _store.TryAcquireLeader(Prefix, "node1", Ttl);
        _store.ReadAll(Prefix, out var seen);
        var woken = _store.WaitForChangeAsync(LeaderKey, seen, TimeSpan.FromMinutes(5), CancellationToken.None);

        _time.Advance(Ttl - OneTick);
        Assert.That(woken.IsCompleted, Is.False);

        _time.Advance(OneTick);
        Assert.That(woken.IsCompletedSuccessfully && woken.Result, Is.True, "woken by the expiry, not by the timeout");
    }

    [Test]
    public void WaitForChangeIgnoresOtherKeysAndOtherClusters()
    {
        _store.ReadAll(Prefix, out var seen);
        var woken = _store.WaitForChangeAsync([LeaderKey, ConfigKey], seen, TimeSpan.FromSeconds(10), CancellationToken.None);

        _store.TouchMember(Prefix, "node1", "{}", Ttl);
        _store.TryWrite(Prefix, ClusterKeys.Status, "{}", WriteCondition.Always);
        _store.TryAcquireLeader("/service/batman2/", "node1", Ttl);
        _store.TryWrite("/service/batman2/", ClusterKeys.Config, "{}", WriteCondition.Always);
        Assert.That(woken.IsCompleted, Is.False);

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(woken.IsCompletedSuccessfully && !woken.Result, Is.True, "timed out");
    }

    [Test]
    public void WaitForChangeOnAPrefixWakesForAnyKeyUnderIt()
    {
        _store.ReadAll(Prefix, out var seen);
        var woken = _store.WaitForChangeAsync(Prefix, seen, TimeSpan.FromSeconds(10), CancellationToken.None);

        _store.TouchMember(Prefix, "node1", "{}", Ttl);

        Assert.That(woken.IsCompletedSuccessfully && woken.Result, Is.True);
    }

    [Test]
    public void WaitForChangeReturnsAtOnceForAChangeAfterTheSeenRevision()
    {
        _store.ReadAll(Prefix, out var seen);
        _store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.Always);

        var woken = _store.WaitForChangeAsync(ConfigKey, seen, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.That(woken.IsCompletedSuccessfully && woken.Result, Is.True);
    }

    [Test]
    public async Task CancellingAWaitCancelsItsTaskAndLaterChangesIgnoreIt()
    {
        using var cancellation = new CancellationTokenSource();
        var woken = _store.WaitForChangeAsync(ConfigKey, _store.Revision, TimeSpan.FromSeconds(10), cancellation.Token);

        await cancellation.CancelAsync();
        _store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.Always);
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.That(woken.IsCanceled, Is.True);
    }

    [Test]
    public void VersionsComeFromOneRevisionSequenceAcrossClusters()
    {
        _store.TryWrite("/service/a/", ClusterKeys.Config, "{}", WriteCondition.Always);
        _store.TryWrite("/service/b/", ClusterKeys.Config, "{}", WriteCondition.Always);
        _store.TryWrite("/service/a/", ClusterKeys.Config, "{}", WriteCondition.Always);

        var a = long.Parse(_store.ReadAll("/service/a/").Single().Version.Token, CultureInfo.InvariantCulture);
        var b = long.Parse(_store.ReadAll("/service/b/").Single().Version.Token, CultureInfo.InvariantCulture);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((a, b), Is.EqualTo((3L, 2L)), "rewriting an unchanged value is a new version too");
            Assert.That(_store.Revision, Is.EqualTo(3));
        }
    }

    [Test]
    public void DeletePrefixSparesAClusterWhoseScopeStartsWithTheSameName()
    {
        _store.TryWrite("/service/a/", ClusterKeys.Config, "{}", WriteCondition.Always);
        _store.TouchMember("/service/a/", "node1", "{}", Ttl);
        _store.TryWrite("/service/ab/", ClusterKeys.Config, "{}", WriteCondition.Always);

        Assert.That(_store.DeletePrefix("/service/a/"), Is.EqualTo(2));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_store.ReadAll("/service/a/"), Is.Empty);
            Assert.That(_store.ReadAll("/service/ab/").Select(e => e.Key), Is.EqualTo(new[] { "config" }));
        }
    }

    [Test]
    public void ReadAllReturnsRelativeKeysInOrdinalOrder()
    {
        _store.TouchMember(Prefix, "node2", "{}", Ttl);
        _store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.Always);
        _store.TryAcquireLeader(Prefix, "node1", Ttl);
        _store.TouchMember(Prefix, "node1", "{}", Ttl);

        Assert.That(_store.ReadAll(Prefix).Select(e => e.Key), Is.EqualTo(new[] { "config", "leader", "members/node1", "members/node2" }));
    }

    [Test]
    public void ReadAllHandsOutTheSameEntryUntilTheKeyChanges()
    {
        _store.TryWrite(Prefix, ClusterKeys.Config, "{}", WriteCondition.Always);
        var first = _store.ReadAll(Prefix).Single();

        Assert.That(_store.ReadAll(Prefix).Single(), Is.SameAs(first), "an unchanged key is not re-allocated per read");

        _store.TryWrite(Prefix, ClusterKeys.Config, """{"ttl":30}""", WriteCondition.Always);
        Assert.That(_store.ReadAll(Prefix).Single().Value, Is.EqualTo("""{"ttl":30}"""));
    }
}
