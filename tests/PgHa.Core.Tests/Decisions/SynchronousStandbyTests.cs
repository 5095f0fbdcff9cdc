using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Patroni's <c>is_sync_standby</c> and the tags of a replica stepping out of synchronous standby.</summary>
[TestFixture]
public sealed class SynchronousStandbyTests
{
    private static SyncState Sync(string leader, params string[] standbys) => new(leader, [.. standbys], null, new DcsVersion("sync-1"));

    private static IEnumerable<TestCaseData> Cases()
    {
        var cluster = LedBy(Node2, Member(Me), Member(Node2, MemberRole.Primary), Member(Node3));
        yield return new TestCaseData(cluster with { Sync = Sync(Node2, Me) }, true).SetName("Listed by the leader's sync key: a synchronous standby");
        yield return new TestCaseData(cluster with { Sync = Sync(Node2, Node3) }, false).SetName("Another standby listed: not synchronous");
        yield return new TestCaseData(cluster with { Sync = Sync(Node3, Me) }, false).SetName("Sync key of a former leader: not a synchronous standby of the current one");
        yield return new TestCaseData(cluster, false).SetName("No sync key: not synchronous");
        yield return new TestCaseData(Unlocked(Member(Me), Member(Node2)) with { Sync = Sync(Node2, Me) }, false).SetName("No leader: nobody to release it");
    }

    [TestCaseSource(nameof(Cases))]
    public void IsSynchronousStandby(ClusterState cluster, bool expected) =>
        Assert.That(SynchronousReplication.IsSynchronousStandby(cluster, Me), Is.EqualTo(expected));

    [Test]
    public void LeavingTagsAddNosyncAndKeepTheOthers()
    {
        var tags = Tags.Of(("clonefrom", "true"), ("nosync", "false"));
        var leaving = SynchronousReplication.LeavingTags(tags);
        Assert.That(leaving.NoSync, Is.True);
        Assert.That(leaving.CloneFrom, Is.True);
        Assert.That(leaving.Entries.Count(e => e.Key == "nosync"), Is.EqualTo(1));
        Assert.That(SynchronousReplication.LeavingTags(Tags.Of(("nosync", "true"))), Is.EqualTo(Tags.Of(("nosync", "true"))));
    }
}
