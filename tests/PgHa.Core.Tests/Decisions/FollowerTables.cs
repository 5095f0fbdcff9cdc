using NUnit.Framework;
using PgHa.Cluster;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Another member holds the lock: follow it, or cascade (patroni-compat.md §5.4 "Someone else holds it").</summary>
[TestFixture]
public sealed class FollowerTables
{
    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var ledByNode2 = LedBy(Node2, Members(primary: Node2));

        yield return Row("Replica following the leader does nothing",
            Node(Pg.RunningReplica(following: Node2), ledByNode2), "none");
        yield return Row("Replica following another member re-points at the leader",
            Node(Pg.RunningReplica(following: Node3), ledByNode2), "follow(node2)");
        yield return Row("Replica without upstream starts following the leader",
            Node(Pg.RunningReplica(following: null), ledByNode2), "follow(node2)");
        yield return Row("Replica tagged replicatefrom cascades from that running member",
            Node(Pg.RunningReplica(following: Node2), ledByNode2).WithTags(Tags.ReplicateFrom(Node3)), "follow(node3)");
        yield return Row("Replica tagged replicatefrom already cascading does nothing",
            Node(Pg.RunningReplica(following: Node3), ledByNode2).WithTags(Tags.ReplicateFrom(Node3)), "none");
        yield return Row("Replica tagged replicatefrom follows the leader while that member is not running",
            Node(Pg.RunningReplica(following: Node3), ledByNode2.WithMember(Node3, m => m with { State = "stopped" })).WithTags(Tags.ReplicateFrom(Node3)), "follow(node2)");
        yield return Row("Replica tagged replicatefrom keeps following the leader when that member is gone",
            Node(Pg.RunningReplica(following: Node2), LedBy(Node2, Member(Node2, MemberRole.Primary), Member(Me))).WithTags(Tags.ReplicateFrom(Node3)), "none");
        yield return Row("Running primary while another member holds the lock demotes",
            Node(Pg.RunningPrimary(), ledByNode2), "demote-immediatenolock");
        yield return Row("Paused running primary while another member holds the lock keeps running",
            Node(Pg.RunningPrimary(), ledByNode2).Paused(), "none");
        yield return Row("Paused replica following the leader does nothing",
            Node(Pg.RunningReplica(following: Node2), ledByNode2).Paused(), "none");
        yield return Row("Paused replica still re-points at the lock holder",
            Node(Pg.RunningReplica(following: Node3), ledByNode2).Paused(), "follow(node2)");
        yield return Row("Replica ignores a failover request naming it while another member holds the lock",
            Node(Pg.RunningReplica(following: Node2), ledByNode2.WithFailover(Node2, Me)).WithPeers(Peer(Node2)), "none");
        yield return Row("Replica does not race with a leader present even with the best WAL position",
            Node(Pg.RunningReplica(following: Node2, lsn: LeaderOptime * 2), ledByNode2), "none");
    }

    [Test]
    public void Follower_reason_names_the_leader()
    {
        var plan = Node(Pg.RunningReplica(following: Node2), LedBy(Node2, Members(primary: Node2))).Decide();

        Assert.That(plan.Reason, Does.Contain(Node2));
    }

    [Test]
    public void Follower_never_asks_for_peer_status()
    {
        var situation = Node(Pg.RunningReplica(following: Node3), LedBy(Node2, Members(primary: Node2)).WithFailover(Node2, Me));

        Assert.That(PgHa.Decisions.HaDecider.NeedsPeerStatus(situation.Cluster, situation.Local, situation.Settings), Is.False);
    }
}
