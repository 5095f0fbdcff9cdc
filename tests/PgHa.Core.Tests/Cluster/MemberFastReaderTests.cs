using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// The fast member reader must read exactly what the tolerant parser reads whenever it does not give up, and give up
/// on everything the tolerant parser would report.
/// </summary>
[TestFixture]
public sealed class MemberFastReaderTests
{
    private static IEnumerable<TestCaseData> FixtureMembers()
    {
        var root = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "patroni-3.0.2", "etcd3");
        foreach (var file in Directory.EnumerateFiles(root, "members__*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            yield return new TestCaseData(File.ReadAllText(file)).SetName("Fixture " + Path.GetRelativePath(root, file));
    }

    [TestCaseSource(nameof(FixtureMembers))]
    public void ReadsEveryPatroniMemberLikeTheTolerantParser(string value)
    {
        Assert.That(MemberFastReaderProbe.TryRead(value, out var fast), Is.True, "a member Patroni wrote must take the fast path");
        Assert.That(fast, Is.EqualTo(MemberCodec.ParseTolerant("n", value, new DcsVersion("7"), "s", [])));
    }

    [TestCase("""{"conn_url":"postgres://h:5432/postgres","xlog_location":"12"}""", TestName = "Gives up on a numeric string")]
    [TestCase("""{"timeline":1.5}""", TestName = "Gives up on a fractional timeline")]
    [TestCase("""{"role":"boss"}""", TestName = "Gives up on an unknown role")]
    [TestCase("""{"state":"a","state":"b"}""", TestName = "Gives up on a duplicate field")]
    [TestCase("""{"tags":{"x":"caf\u00e9"}}""", TestName = "Gives up on an escaped tag value")]
    [TestCase("""{"tags":{"x":{"y":1}}}""", TestName = "Gives up on a nested tag value")]
    [TestCase("""{"tags":5}""", TestName = "Gives up on tags that are not an object")]
    [TestCase("""{"pause":"true"}""", TestName = "Gives up on a string boolean")]
    [TestCase("""{"state":"running"} x""", TestName = "Gives up on trailing content")]
    [TestCase("""[1,2]""", TestName = "Gives up on an array")]
    [TestCase("""{"state":""", TestName = "Gives up on truncated JSON")]
    public void GivesUpOnAnythingTheTolerantParserWouldReport(string value) =>
        Assert.That(MemberFastReaderProbe.TryRead(value, out _), Is.False);

    [Test]
    public void AgreesWithTheTolerantParserOnRandomMembers()
    {
        var random = new Random(20261126);
        string[] roles = ["master", "primary", "replica", "standby_leader", "demoted", "uninitialized", "promoted"];
        var fastTaken = 0;
        for (var i = 0; i < 5000; i++)
        {
            var fields = new List<string>
            {
                $"\"conn_url\":\"postgres://10.0.0.{random.Next(255)}:5432/postgres\"",
                $"\"api_url\":\"http://10.0.0.{random.Next(255)}:8008/patroni\"",
                $"\"state\":\"{(random.Next(2) == 0 ? "running" : "stopped")}\"",
                $"\"role\":\"{roles[random.Next(roles.Length)]}\"",
                "\"version\":\"3.0.2\"",
            };
            if (random.Next(2) == 0) fields.Add($"\"xlog_location\":{random.NextInt64(0, long.MaxValue)}");
            if (random.Next(2) == 0) fields.Add($"\"timeline\":{random.Next(1, 1000)}");
            if (random.Next(3) == 0) fields.Add("\"tags\":{\"clonefrom\":true,\"failover_priority\":" + random.Next(-2, 5) + ",\"zone\":\"a-" + random.Next(9) + "\"}");
            if (random.Next(4) == 0) fields.Add("\"pause\":true");
            if (random.Next(4) == 0) fields.Add("\"checkpoint_after_promote\":false");
            if (random.Next(4) == 0) fields.Add("\"pending_restart\":true");
            if (random.Next(5) == 0) fields.Add("\"unknown_field\":{\"nested\":[1,2,{\"a\":null}]}");
            if (random.Next(10) == 0) fields.Add("\"timeline\":\"oops\""); // duplicate and wrong: must fall back
            var value = "{" + string.Join(',', fields.OrderBy(_ => random.Next())) + "}";
            var slow = MemberCodec.ParseTolerant("n", value, new DcsVersion("7"), "s", []);
            if (MemberFastReaderProbe.TryRead(value, out var fast))
            {
                fastTaken++;
                Assert.That(fast, Is.EqualTo(slow), value);
            }
            Assert.That(MemberCodec.Parse("n", value, new DcsVersion("7"), "s", []), Is.EqualTo(slow), value);
        }
        Assert.That(fastTaken, Is.GreaterThan(4000), "ordinary members must take the fast path");
    }

    private static class MemberFastReaderProbe
    {
        public static bool TryRead(string value, out Member member) => MemberFastReader.TryRead("n", value, new DcsVersion("7"), "s", out member);
    }
}
