using NUnit.Framework;
using PgHa.Cluster;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>An empty data directory: bootstrap race, clone, or wait (patroni-compat.md §5.2 step 9).</summary>
[TestFixture]
public sealed class BootstrapTables
{
    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var fresh = Node(Pg.EmptyDataDir, NeverBootstrapped);
        var ledByNode2 = LedBy(Node2, Member(Node2, MemberRole.Primary), Member(Node3));

        yield return Row("Empty cluster races for initialize and bootstraps when it wins",
            fresh, "race-initialize{won:[bootstrap]}");
        yield return Row("Empty cluster with the nofailover tag does not bootstrap",
            fresh.WithTags(Tags.NoFailover), "none");
        yield return Row("Empty cluster with failover_priority 0 does not bootstrap",
            fresh.WithTags(Tags.FailoverPriority(0)), "none");
        yield return Row("Empty cluster without a bootstrap section does not bootstrap",
            fresh.With(s => s with { CanBootstrap = false }), "none");
        yield return Row("Lost the initialize race and the winner is still running initdb so waits",
            fresh with { Cluster = NeverBootstrapped with { Initialize = new ClusterInitialize("", new DcsVersion("init-1")) } }, "none");
        yield return Row("Leader exists so clones from the leader",
            Node(Pg.EmptyDataDir, ledByNode2), "create-replica(node2)");
        yield return Row("Empty data dir waits while the leader's PostgreSQL is not running yet",
            Node(Pg.EmptyDataDir, ledByNode2.WithMember(Node2, m => m with { State = "initializing new cluster" })), "none");
        yield return Row("Running replica tagged clonefrom is preferred over the leader as clone source",
            Node(Pg.EmptyDataDir, ledByNode2.WithMember(Node3, m => m with { Tags = Tags.CloneFrom })), "create-replica(node3)");
        yield return Row("Replica tagged clonefrom that is not running is not a clone source",
            Node(Pg.EmptyDataDir, ledByNode2.WithMember(Node3, m => m with { Tags = Tags.CloneFrom, State = "stopped" })), "create-replica(node2)");
        yield return Row("Paused empty cluster does not bootstrap",
            fresh.Paused(), "none");
        yield return Row("Paused cluster with a leader does not clone",
            Node(Pg.EmptyDataDir, ledByNode2).Paused(), "none");
        yield return Row("Empty data directory while holding the lock releases the lock",
            Node(Pg.EmptyDataDir, LedBy(Me, Member(Me, MemberRole.Primary), Member(Node2))), "release-lock");
        yield return Row("Empty data directory while holding the lock releases it even when paused",
            Node(Pg.EmptyDataDir, LedBy(Me, Member(Me, MemberRole.Primary), Member(Node2))).Paused(), "release-lock");
        yield return Row("Bootstrapped cluster without a leader makes a new node wait for one",
            Node(Pg.EmptyDataDir, Unlocked(Member(Node2))), "none");
        yield return Row("Bootstrapped cluster without a leader: a no_leader replica method creates the node anyway (bootstrap without leader)",
            Node(Pg.EmptyDataDir, Unlocked(Member(Node2))).With(s => s with { CanCreateReplicaWithoutLeader = true }), "create-replica(-)");
        yield return Row("A no_leader replica method does not run while the initialize race winner still bootstraps",
            (fresh with { Cluster = NeverBootstrapped with { Initialize = new ClusterInitialize("", new DcsVersion("init-1")) } }).With(s => s with { CanCreateReplicaWithoutLeader = true }), "none");
        yield return Row("A no_leader replica method is not used while a leader exists: the leader is cloned",
            Node(Pg.EmptyDataDir, ledByNode2).With(s => s with { CanCreateReplicaWithoutLeader = true }), "create-replica(node2)");
        yield return Row("A no_leader replica method waits while the leader's PostgreSQL is not running yet",
            Node(Pg.EmptyDataDir, ledByNode2.WithMember(Node2, m => m with { State = "initializing new cluster" })).With(s => s with { CanCreateReplicaWithoutLeader = true }), "none");
        yield return Row("Unusable data directory waits to be reinitialized",
            Node(Pg.UnusableDataDir, ledByNode2), "none");
    }
}
