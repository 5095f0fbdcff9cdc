using System.Text.Json.Nodes;
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
