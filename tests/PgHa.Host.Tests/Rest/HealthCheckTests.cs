using static PgHa.Host.Tests.Rest.RestTestNodes;

namespace PgHa.Host.Tests.Rest;

/// <summary>Patroni's health rules, one row per behaviour (patroni-compat.md §3.1).</summary>
[TestFixture]
public sealed class HealthCheckTests
{
    private static IEnumerable<TestCaseData> Rows()
    {
        var leader = Node(Primary, leader: true);
        var replica = Node(Replica(), leader: false);
        var stopped = Node(Stopped, leader: false);
        var primaryWithoutLock = Node(Primary, leader: false);
        TestCaseData Row(string name, string path, NodeSnapshot node, int code, params (string, string)[] query) =>
            new TestCaseData(path, Query(query), node, code).SetName(name);

        yield return Row("Root answers 200 on the leader", "/", leader, 200);
        yield return Row("Primary answers 200 on the leader", "/primary", leader, 200);
        yield return Row("Master is an alias of primary", "/master", leader, 200);
        yield return Row("Read-write is an alias of primary", "/read-write", leader, 200);
        yield return Row("Primary answers 503 on a replica", "/primary", replica, 503);
        yield return Row("Primary answers 503 on a primary without the lock", "/primary", primaryWithoutLock, 503);
        yield return Row("Any path naming primary uses the primary rule", "/some-primary-check", leader, 200);
        yield return Row("Leader answers 200 while holding the lock", "/leader", leader, 200);
        yield return Row("Leader answers 503 without the lock", "/leader", replica, 503);
        yield return Row("Replica answers 200 on a running replica", "/replica", replica, 200);
        yield return Row("Replica answers 503 on the leader", "/replica", leader, 503);
        yield return Row("Replica answers 503 when PostgreSQL is down", "/replica", stopped, 503);
        yield return Row("Replica answers 503 with the noloadbalance tag", "/replica", Node(Replica(), false, Tags(("noloadbalance", "true"))), 503);
        yield return Row("Replica within the lag limit answers 200", "/replica", Node(Replica(lag: 1000), false), 200, ("lag", "16kB"));
        yield return Row("Replica beyond the lag limit answers 503", "/replica", Node(Replica(lag: 20000), false), 503, ("lag", "16kB"));
        yield return Row("Replica lag in plain bytes", "/replica", Node(Replica(lag: 20000), false), 200, ("lag", "20000"));
        yield return Row("Replica with a matching tag answers 200", "/replica", Node(Replica(), false, Tags(("zone", "\"a\""))), 200, ("tag_zone", "a"));
        yield return Row("Replica with another tag value answers 503", "/replica", Node(Replica(), false, Tags(("zone", "\"b\""))), 503, ("tag_zone", "a"));
        yield return Row("Replica without the asked tag answers 503", "/replica", replica, 503, ("tag_zone", "a"));
        yield return Row("Boolean tags compare as lowercase text", "/replica", Node(Replica(), false, Tags(("clonefrom", "true"))), 200, ("tag_clonefrom", "true"));
        yield return Row("Read-only answers 200 on the leader", "/read-only", leader, 200);
        yield return Row("Read-only answers 200 on a replica", "/read-only", replica, 200);
        yield return Row("Health answers 200 when PostgreSQL runs", "/health", replica, 200);
        yield return Row("Health answers 503 when PostgreSQL is down", "/health", stopped, 503);
        yield return Row("An unknown path answers 503, as in Patroni", "/whatever", replica, 503);
        yield return Row("Async answers 200 on a running replica outside sync mode", "/async", replica, 200);
        yield return Row("Sync answers 503 outside sync mode", "/sync", replica, 503);
        yield return Row("Read-only-sync answers 200 on the leader", "/read-only-sync", leader, 200);
        yield return Row("Read-only-sync answers 503 on an async replica", "/read-only-sync", replica, 503);
        yield return Row("Tags do not matter for the primary check", "/primary", leader, 200, ("tag_zone", "a"));
        yield return Row("Standby-leader answers 503 outside a standby cluster", "/standby-leader", leader, 503);
        static NodeSnapshot InStandbyCluster(NodeSnapshot n) => n with { Settings = n.Settings with { StandbyCluster = new() { Host = "10.0.0.9" } } };
        var standbyLeader = InStandbyCluster(Node(Replica(), leader: true));
        var standbyReplica = InStandbyCluster(Node(Replica(), leader: false));
        yield return Row("Standby-leader answers 200 on the lock holder of a standby cluster", "/standby-leader", standbyLeader, 200);
        yield return Row("Standby_leader is an alias of standby-leader", "/standby_leader", standbyLeader, 200);
        yield return Row("Primary answers 503 on a standby leader", "/primary", standbyLeader, 503);
        yield return Row("Leader answers 200 on a standby leader", "/leader", standbyLeader, 200);
        yield return Row("Replica answers 503 on a standby leader", "/replica", standbyLeader, 503);
        yield return Row("Read-only answers 200 on a standby leader", "/read-only", standbyLeader, 200);
        yield return Row("Standby-leader answers 503 on a standby cluster's replica", "/standby-leader", standbyReplica, 503);
        yield return Row("Replica answers 200 on a standby cluster's replica", "/replica", standbyReplica, 200);
    }

    [TestCaseSource(nameof(Rows))]
    public void Answers(string path, IReadOnlyDictionary<string, string> query, NodeSnapshot node, int expected) =>
        Assert.That(HealthCheck.Evaluate(path, query, node, Now, out _), Is.EqualTo(expected));

    [Test]
    public void ALockWhoseGuaranteeHasRunOutIsNotLeadership() =>
        Assert.That(HealthCheck.Evaluate("/primary", Query(), Node(Primary, leader: true), Now.AddSeconds(21), out _), Is.EqualTo(503));

    [TestCase("abc")]
    [TestCase("-5")]
    [TestCase("16 parsecs")]
    public void ABadLagIsABadRequestNamingTheParameter(string lag)
    {
        Assert.That(HealthCheck.Evaluate("/replica", Query(("lag", lag)), Node(Replica(), false), Now, out var error), Is.Null);
        Assert.That(error, Does.StartWith("lag:"));
    }

    [TestCase("1024", 1024)]
    [TestCase("16kB", 16384)]
    [TestCase("64MB", 67108864)]
    [TestCase("1GB", 1073741824)]
    [TestCase("1TB", 1099511627776)]
    public void ParsesPatroniSizes(string text, long bytes)
    {
        Assert.That(HealthCheck.TryParseSize(text, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(bytes));
    }
}
