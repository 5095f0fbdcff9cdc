using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// A <c>failover</c> key seen by the running primary that holds the lock: process_manual_failover_from_leader and
/// is_failover_possible (patroni-compat.md §5.3, §5.4). Both replicas are caught up unless a row says otherwise.
/// </summary>
[TestFixture]
public sealed class SwitchoverTables
{
    private const string StepsDown = "renew-lock{ok:[demote-graceful] fail:[demote-immediatenolock]}";
    private const string Waits = "renew-lock{ok:[] fail:[demote-immediatenolock]}";
    private const string Cancels = "renew-lock{ok:[clear-failover] fail:[demote-immediatenolock]}";

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var mine = LedBy(Me, Members(primary: Me));
        Situation Leader(ClusterState cluster) => Node(Pg.RunningPrimary(), cluster).WithPeers(Peer(Node2), Peer(Node3));

        yield return Row("Switchover to a healthy candidate demotes gracefully",
            Leader(mine.WithFailover(Me, Node2)), StepsDown);
        yield return Row("Failover request to a healthy candidate demotes gracefully",
            Leader(mine.WithFailover(null, Node2)), StepsDown);
        yield return Row("Switchover scheduled in the future waits",
            Leader(mine.WithFailover(Me, Node2, Now.AddMinutes(30))), Waits);
        yield return Row("Switchover scheduled in the future waits even without peer status",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2, Now.AddSeconds(1))), Waits);
        yield return Row("Switchover that has just become due demotes",
            Leader(mine.WithFailover(Me, Node2, Now.AddSeconds(-5))), StepsDown);
        yield return Row("Switchover overdue by exactly one and a half loop_wait still demotes",
            Leader(mine.WithFailover(Me, Node2, Now.AddSeconds(-15))), StepsDown);
        yield return Row("Switchover overdue by more than one and a half loop_wait is dropped",
            Leader(mine.WithFailover(Me, Node2, Now.AddSeconds(-16))), Cancels);
        yield return Row("Switchover naming another leader is dropped",
            Leader(mine.WithFailover(Node3, Node2)), Cancels);
        yield return Row("Switchover to myself is dropped",
            Leader(mine.WithFailover(Me, Me)), Cancels);
        yield return Row("Switchover to a candidate that is not a member is dropped",
            Leader(mine.WithFailover(Me, "node9")), Cancels);
        yield return Row("Switchover to an unreachable candidate is dropped",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2)).WithPeers(Unreachable(Node2), Peer(Node3)), Cancels);
        yield return Row("Switchover to a candidate tagged nofailover is dropped",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2)).WithPeers(Peer(Node2, tags: Tags.NoFailover), Peer(Node3)), Cancels);
        yield return Row("Switchover to a candidate with a failed watchdog is dropped",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2)).WithPeers(Peer(Node2, watchdogFailed: true), Peer(Node3)), Cancels);
        yield return Row("Switchover to a candidate lagging beyond maximum_lag_on_failover is dropped",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2)).WithPeers(Peer(Node2, lsn: FarBehind), Peer(Node3)), Cancels);
        yield return Row("Switchover without candidate demotes when a replica is healthy",
            Leader(mine.WithFailover(Me, null)), StepsDown);
        yield return Row("Switchover without candidate demotes when one replica is healthy and the other unreachable",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, null)).WithPeers(Unreachable(Node2), Peer(Node3)), StepsDown);
        yield return Row("Switchover without candidate is dropped when every replica lags",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, null)).WithPeers(Peer(Node2, lsn: FarBehind), Peer(Node3, lsn: FarBehind)), Cancels);
        yield return Row("Switchover without candidate is dropped when no replica answers",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, null)).WithPeers(Unreachable(Node2), Unreachable(Node3)), Cancels);
        yield return Row("Switchover asks for peer status before checking candidates",
            Node(Pg.RunningPrimary(), mine.WithFailover(Me, Node2)), Situation.AsksForPeers);
        yield return Row("Paused switchover without candidate is dropped",
            Leader(mine.WithFailover(Me, null)).Paused(), "renew-lock{ok:[clear-failover] fail:[]}");
        yield return Row("Paused switchover to a healthy candidate demotes gracefully",
            Leader(mine.WithFailover(Me, Node2)).Paused(), "renew-lock{ok:[demote-graceful] fail:[]}");
        yield return Row("Lock holder still in recovery promotes and leaves the request for later",
            Node(Pg.RunningReplica(null), mine.WithFailover(Me, Node2)).WithPeers(Peer(Node2), Peer(Node3)), "renew-lock{ok:[promote] fail:[]}");
    }

    [Test]
    public void Dropped_request_is_cleared_with_compare_and_set_on_the_version_read()
    {
        var cluster = LedBy(Me, Members(primary: Me)).WithFailover(Node3, Node2);

        var plan = Node(Pg.RunningPrimary(), cluster).WithPeers(Peer(Node2)).Decide();

        var clear = plan.Actions.OfType<RenewLock>().Single().OnRenewed.OfType<ClearFailover>().Single();
        Assert.That(clear.Version, Is.EqualTo(cluster.Failover!.Version));
    }

    [Test]
    public void Leader_name_mismatch_reason_names_both_members()
    {
        var plan = Node(Pg.RunningPrimary(), LedBy(Me, Members(primary: Me)).WithFailover(Node3, Node2)).WithPeers(Peer(Node2)).Decide();

        Assert.That(plan.Reason, Does.Contain(Node3).And.Contain(Me));
    }
}
