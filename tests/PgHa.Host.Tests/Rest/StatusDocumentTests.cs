using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using static PgHa.Host.Tests.Rest.RestTestNodes;

namespace PgHa.Host.Tests.Rest;

/// <summary>The <c>/patroni</c> document must look like Patroni's, which peers and tools read.</summary>
[TestFixture]
public sealed class StatusDocumentTests
{
    private static JsonObject PatroniAnswer(string file) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(
        TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "PgHa.Core.Tests", "Fixtures", "patroni-3.0.2", "etcd3", "bootstrapped", file)))!;

    [Test]
    public void APrimaryAnswersWithPatroniFieldsInPatroniOrder()
    {
        var patroni = PatroniAnswer("rest-patroni__node1.json");
        var ours = StatusDocument.Build(Node(Primary, leader: true), Now);
        // Same keys in the same order, except what PgHa adds (patroni.name, as Patroni 3.2+ does) or cannot know yet.
        var patroniKeys = patroni.Select(p => p.Key).Where(k => k != "replication").ToList();
        Assert.That(ours.Select(p => p.Key).ToList(), Is.EqualTo(patroniKeys));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ours["role"]!.GetValue<string>(), Is.EqualTo("master"));
            Assert.That(ours["xlog"]!.ToJsonString(), Is.EqualTo(patroni["xlog"]!.ToJsonString()));
            Assert.That(ours["postmaster_start_time"]!.GetValue<string>(), Is.EqualTo(patroni["postmaster_start_time"]!.GetValue<string>()));
            Assert.That(ours["patroni"]!["name"]!.GetValue<string>(), Is.EqualTo("node1"));
        }
    }

    [Test]
    public void AReplicaReportsReceivedAndReplayedPositionsLikePatroni()
    {
        var patroni = PatroniAnswer("rest-patroni__node2.json");
        var ours = StatusDocument.Build(Node(Replica(), leader: false), Now);
        Assert.That(ours["xlog"]!.ToJsonString(), Is.EqualTo(patroni["xlog"]!.ToJsonString()));
        Assert.That(ours["role"]!.GetValue<string>(), Is.EqualTo("replica"));
    }

    [Test]
    public void TheLockHolderOfAStandbyClusterReportsRoleStandbyLeaderAndItsReplicasReplica()
    {
        static NodeSnapshot InStandbyCluster(NodeSnapshot n) => n with { Settings = n.Settings with { StandbyCluster = new() { Host = "10.0.0.9" } } };
        var leader = StatusDocument.Build(InStandbyCluster(Node(Replica(), leader: true)), Now);
        var replica = StatusDocument.Build(InStandbyCluster(Node(Replica(), leader: false)), Now);
        var metrics = MetricsDocument.Build(InStandbyCluster(Node(Replica(), leader: true)), Now);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(leader["role"]!.GetValue<string>(), Is.EqualTo("standby_leader"));
            Assert.That(leader["xlog"]!["received_location"], Is.Not.Null, "a standby leader reports replica positions");
            Assert.That(replica["role"]!.GetValue<string>(), Is.EqualTo("replica"));
            Assert.That(metrics, Does.Contain("patroni_standby_leader{scope=\"batman\",name=\"node1\"} 1"));
            Assert.That(metrics, Does.Contain("patroni_replica{scope=\"batman\",name=\"node1\"} 0"));
        }
    }

    [Test]
    public void TheClusterDocumentNamesTheLockHolderOfAStandbyClusterStandbyLeader()
    {
        var config = ConfigCodec.Parse("""{"standby_cluster":{"host":"10.0.0.9","port":5432}}""", default, []);
        var cluster = new ClusterState
        {
            Config = config,
            Leader = new LeaderLock("node1", new DcsVersion("1")),
            Members = [new Member("node1") { State = "running" }, new Member("node2") { State = "running" }],
        };

        var members = ClusterDocument.Build(cluster)["members"]!.AsArray();

        Assert.That(members.Select(m => m!["role"]!.GetValue<string>()), Is.EqualTo(new[] { "standby_leader", "replica" }));
    }

    [Test]
    public void ReportsPauseAnUnlockedClusterAndTags()
    {
        var ours = StatusDocument.Build(Node(Replica(), leader: false, Tags(("nofailover", "true")), paused: true, unlocked: true), Now);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ours["pause"]!.GetValue<bool>(), Is.True);
            Assert.That(ours["cluster_unlocked"]!.GetValue<bool>(), Is.True);
            Assert.That(ours["tags"]!["nofailover"]!.GetValue<bool>(), Is.True);
        }
    }

    [Test]
    public void ReportsAFailedRequiredWatchdogAsPatroniDoesAndNothingOtherwise()
    {
        var failed = StatusDocument.Build(Node(Replica(), leader: false) with { WatchdogFailed = true }, Now);
        var healthy = StatusDocument.Build(Node(Replica(), leader: false), Now);
        Assert.That((failed["watchdog_failed"]?.GetValue<bool>(), healthy.ContainsKey("watchdog_failed")), Is.EqualTo(((bool?)true, false)));
        // Peers read it back with the same reader the leader race uses.
        Assert.That(PgHa.Peers.PatroniStatusReader.Read("node2", failed.ToJsonString()).WatchdogFailed, Is.True);
    }

    [Test]
    public void AStoppedNodeReportsOnlyWhatItKnows()
    {
        var ours = StatusDocument.Build(Node(Stopped, leader: false), Now);
        Assert.That(ours["state"]!.GetValue<string>(), Is.EqualTo("stopped"));
        Assert.That(ours.ContainsKey("xlog"), Is.False);
    }

    [Test]
    public void UsesPatroniRestSeparators() =>
        Assert.That(PatroniJson.SerializeSpaced(new JsonObject { ["state"] = "running", ["timeline"] = 1 }), Is.EqualTo("""{"state": "running", "timeline": 1}"""));
}
