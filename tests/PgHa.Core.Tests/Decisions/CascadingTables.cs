using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// Cascading replication (replicatefrom): whom each member streams from and which slots each server keeps, so that a
/// cascading replica always finds its slot where it streams from (patroni-compat.md §5.4, §5.15).
/// </summary>
[TestFixture]
public sealed class CascadingTables
{
    private const string Node4 = "node4";

    // node1 leads; node3 cascades from node2; node4 cascades from node3 (a chain).
    private static ClusterState Chain(Func<Member, Member>? node2 = null) => LedBy(Me,
        Member(Me, MemberRole.Primary),
        (node2 ?? (m => m))(Member(Node2)),
        Member(Node3, tags: Tags.ReplicateFrom(Node2)),
        Member(Node4, tags: Tags.ReplicateFrom(Node3)));

    private static IEnumerable<TestCaseData> Upstreams()
    {
        static TestCaseData Case(string name, ClusterState cluster, string member, string? expected) =>
            new TestCaseData(cluster, member, expected).SetName(name);
        var chain = Chain();
        yield return Case("A replica without replicatefrom streams from the leader", chain, Node2, Me);
        yield return Case("A replica tagged replicatefrom streams from that running member", chain, Node3, Node2);
        yield return Case("Cascades chain: node4 streams from node3", chain, Node4, Node3);
        yield return Case("The leader streams from nobody", chain, Me, null);
        yield return Case("The replicatefrom member's PostgreSQL is stopped: stream from the leader", Chain(m => m with { State = "stopped" }), Node3, Me);
        yield return Case("The replicatefrom member is gone (its key expired): stream from the leader",
            LedBy(Me, Member(Me, MemberRole.Primary), Member(Node3, tags: Tags.ReplicateFrom(Node2))), Node3, Me);
        yield return Case("replicatefrom naming the leader streams from the leader",
            LedBy(Me, Member(Me, MemberRole.Primary), Member(Node2, tags: Tags.ReplicateFrom(Me))), Node2, Me);
        yield return Case("replicatefrom naming itself streams from the leader",
            LedBy(Me, Member(Me, MemberRole.Primary), Member(Node2, tags: Tags.ReplicateFrom(Node2))), Node2, Me);
        yield return Case("No leader: nobody to stream from", Unlocked(Member(Node2), Member(Node3, tags: Tags.ReplicateFrom(Node2))), Node3, Node2);
    }

    [TestCaseSource(nameof(Upstreams))]
    public void Upstream(ClusterState cluster, string member, string? expected) =>
        Assert.That(Cascading.UpstreamOf(cluster, member, cluster.GetMember(member)!.Tags), Is.EqualTo(cluster.IsUnlocked ? null : expected));

    private static IEnumerable<TestCaseData> Slots()
    {
        static TestCaseData Case(string name, ClusterState cluster, string me, bool primary, params string[] expected) =>
            new TestCaseData(cluster, me, primary, expected).SetName(name);
        var chain = Chain();
        yield return Case("The primary keeps slots only for the members that stream from it", chain, Me, true, Node2);
        yield return Case("A replica keeps the slot of the member cascading from it", chain, Node2, false, Node3);
        yield return Case("A cascading replica keeps the slot of the member cascading from it in turn", chain, Node3, false, Node4);
        yield return Case("A replica nobody cascades from keeps no slots", chain, Node4, false);
        yield return Case("When the cascade source stops, the primary keeps a slot for the member falling back to it",
            Chain(m => m with { State = "stopped" }), Me, true, Node2, Node3);
        yield return Case("When the cascade source stops, it drops the slot of the member that left it",
            Chain(m => m with { State = "stopped" }), Node2, false);
        yield return Case("A replica never keeps a slot for the leader, even when the leader's tags name it",
            LedBy(Node2, Member(Me, tags: Tags.ReplicateFrom(Node2)), Member(Node2, MemberRole.Primary, tags: Tags.ReplicateFrom(Me))), Me, false);
        yield return Case("A primary without a lock in the view keeps a slot for every other member",
            Unlocked(Member(Me, MemberRole.Primary), Member(Node2), Member(Node3, tags: Tags.ReplicateFrom(Node2))), Me, true, Node2, Node3);
    }

    [TestCaseSource(nameof(Slots))]
    public void SlotsKept(ClusterState cluster, string me, bool primary, string[] expected)
    {
        // The member slots of ReplicationSlots' plans follow the same upstream rule as the replicas themselves.
        var settings = HaSettings.From(Config(), me, MemberTags.Empty);
        var plan = primary ? ReplicationSlots.ForLeader(cluster, settings, standbyLeader: false) : ReplicationSlots.ForReplica(cluster, settings);
        Assert.That(plan.Slots.Select(s => s.Name), Is.EqualTo(expected));
    }
}
