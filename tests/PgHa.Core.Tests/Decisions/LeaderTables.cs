using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>I hold the lock and nobody asked for a switchover (patroni-compat.md §5.2 step 4, §5.4, §5.14).</summary>
[TestFixture]
public sealed class LeaderTables
{
    private static ClusterState Mine => LedBy(Me, Members(primary: Me));

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var leader = Node(Pg.RunningPrimary(), Mine);

        yield return Row("Leader renews the lock and demotes if the renewal fails",
            leader, "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Lock holder still in recovery renews then promotes",
            Node(Pg.RunningReplica(null), Mine), "renew-lock{ok:[promote] fail:[]}");
        yield return Row("Leader writes initialize when the key is missing",
            leader with { Cluster = Mine with { Initialize = null } }, "renew-lock{ok:[write-initialize] fail:[demote-immediatenolock]}");
        yield return Row("Leader writes initialize when it still holds the bootstrap placeholder",
            leader with { Cluster = Mine with { Initialize = new ClusterInitialize("", new DcsVersion("init-1")) } }, "renew-lock{ok:[write-initialize] fail:[demote-immediatenolock]}");
        yield return Row("Leader writes config when the key is missing",
            leader with { Cluster = Mine with { Config = null } }, "renew-lock{ok:[write-config] fail:[demote-immediatenolock]}");
        yield return Row("Leader writes config when the key holds an empty object",
            leader with { Cluster = Mine with { Config = new GlobalConfig() } }, "renew-lock{ok:[write-config] fail:[demote-immediatenolock]}");
        yield return Row("Lock holder in recovery with missing keys writes them before promoting",
            Node(Pg.RunningReplica(null), Mine with { Initialize = null, Config = null }), "renew-lock{ok:[write-initialize write-config promote] fail:[]}");
        yield return Row("Paused lock holder that is not a primary releases the lock",
            Node(Pg.RunningReplica(null), Mine).Paused(), "release-lock");
        yield return Row("Paused leader renews and keeps running if the renewal fails",
            leader.Paused(), "renew-lock{ok:[] fail:[]}");
        yield return Row("Leader on a newer timeline than the history key publishes its history",
            Node(Pg.RunningPrimary(timeline: ClusterTimeline + 1), Mine), "renew-lock{ok:[update-history] fail:[demote-immediatenolock]}");
        yield return Row("Leader on timeline 1 writes no history, as Patroni does",
            Node(Pg.RunningPrimary(timeline: 1), Mine with { History = null }), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Leader on an older timeline than the history key never rewrites it backwards",
            Node(Pg.RunningPrimary(timeline: ClusterTimeline - 1), Mine), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Leader ignores a failover request that is already cleared",
            leader with { Cluster = Mine with { Failover = FailoverRequest.Cleared } }, "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Leader does not ask for peers without a failover request",
            leader.WithPeers(), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
    }

    [Test]
    public void Missing_initialize_is_created_only_if_still_absent()
    {
        var plan = Node(Pg.RunningPrimary(), Mine with { Initialize = null }).Decide();

        var write = Renewal(plan).OnRenewed.OfType<WriteInitialize>().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.SystemId, Is.EqualTo(SystemId));
            Assert.That(write.Condition, Is.EqualTo(WriteCondition.IfAbsent));
        }
    }

    [Test]
    public void Bootstrap_placeholder_is_replaced_with_compare_and_set()
    {
        var placeholder = new ClusterInitialize("", new DcsVersion("init-9"));

        var plan = Node(Pg.RunningPrimary(), Mine with { Initialize = placeholder }).Decide();

        Assert.That(Renewal(plan).OnRenewed.OfType<WriteInitialize>().Single().Condition, Is.EqualTo(WriteCondition.IfVersion(placeholder.Version)));
    }

    [Test]
    public void Leader_renews_the_lock_it_read_and_publishes_its_wal_position()
    {
        var situation = Node(Pg.RunningPrimary(lsn: LeaderOptime + 4096), Mine);

        var renew = Renewal(situation.Decide());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(renew.Held, Is.EqualTo(situation.Cluster!.Leader));
            Assert.That(renew.Optime, Is.EqualTo(LeaderOptime + 4096));
        }
    }

    [Test]
    public void Lock_holder_in_recovery_publishes_no_wal_position()
    {
        var renew = Renewal(Node(Pg.RunningReplica(null), Mine).Decide());

        Assert.That(renew.Optime, Is.Null);
    }

    [Test]
    public void History_update_names_the_local_timeline()
    {
        var plan = Node(Pg.RunningPrimary(timeline: 5), Mine).Decide();

        Assert.That(Renewal(plan).OnRenewed.OfType<UpdateHistory>().Single().Timeline, Is.EqualTo(5));
    }

    [Test]
    public void Leader_reason_names_me()
    {
        var plan = Node(Pg.RunningPrimary(), Mine).Decide();

        Assert.That(plan.Reason, Does.Contain($"({Me})"));
    }

    private static RenewLock Renewal(HaPlan plan) => plan.Actions.OfType<RenewLock>().Single();
}
