using System.Collections.Immutable;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Which slots a node keeps (patroni-compat.md §5.15), rendered as <c>name:type</c>, <c>@lsn</c> for an advance, <c>?</c> for keep-only.</summary>
[TestFixture]
public sealed class ReplicationSlotsTables
{
    private const string SlotsJson = """
        {"slots":{"keep_phys":{"type":"physical"},"cdc":{"type":"logical","database":"app","plugin":"pgoutput"},"node1":null},
         "ignore_slots":[{"name":"external"}]}
        """;

    private static HaSettings Settings(string json = SlotsJson, MemberTags? tags = null, bool pause = false)
    {
        var config = ConfigCodec.Parse(json, default, []);
        return HaSettings.From(config, Me, tags ?? MemberTags.Empty) with { Pause = pause };
    }

    private static string Render(ReplicationSlotPlan plan) => string.Join(' ', plan.Slots.Select(s =>
        $"{s.Name}:{(s.Type == ReplicationSlotType.Physical ? "p" : "l")}{(s.AdvanceTo is { } at ? "@" + at : "")}{(s.Create ? "" : "?")}"));

    private static IEnumerable<TestCaseData> LeaderCases()
    {
        var three = LedBy(Me, Members(primary: Me));
        yield return new TestCaseData(three, Settings(), false, "cdc:l keep_phys:p node2:p node3:p").SetName("Primary keeps member slots and every permanent slot except its own name");
        yield return new TestCaseData(three, Settings(), true, "keep_phys:p node2:p node3:p").SetName("Standby leader keeps member slots and only physical permanent slots");
        yield return new TestCaseData(three.WithMember(Node3, m => m with { Tags = Tags.ReplicateFrom(Node2) }), Settings("{}"), false, "node2:p").SetName("A member cascading from another member gets no slot on the leader");
        yield return new TestCaseData(three.WithMember(Node3, m => m with { Tags = Tags.ReplicateFrom(Me) }), Settings("{}"), false, "node2:p node3:p").SetName("A member cascading from the leader itself gets its slot");
        yield return new TestCaseData(three.WithMember(Node3, m => m with { Tags = Tags.ReplicateFrom("gone") }), Settings("{}"), false, "node2:p node3:p").SetName("A member cascading from a vanished member falls back to a leader slot");
        yield return new TestCaseData(three, Settings("""{"postgresql":{"use_slots":false},"slots":{"x":null}}"""), false, "").SetName("use_slots off: no slots at all");
        yield return new TestCaseData(three, Settings("""{"slots":{"node2":{"type":"logical","database":"d","plugin":"p"}}}"""), false, "node2:p node3:p").SetName("A permanent logical slot named like a member is left out");
    }

    [TestCaseSource(nameof(LeaderCases))]
    public void Leader(ClusterState cluster, HaSettings settings, bool standbyLeader, string expected) =>
        Assert.That(Render(ReplicationSlots.ForLeader(cluster, settings, standbyLeader)), Is.EqualTo(expected));

    private static IEnumerable<TestCaseData> ReplicaCases()
    {
        var published = ImmutableDictionary<string, long>.Empty.Add("keep_phys", 5000).Add("node1", 4000).Add("node2", 7000).Add("node3", 6000).Add("cdc", 9000);
        var ledByNode2 = LedBy(Node2, Members(primary: Node2)) with { Status = new ClusterStatus(LeaderOptime, published, [], default) };
        yield return new TestCaseData(ledByNode2, Settings(), "cdc:l? keep_phys:p@5000 node2:p@7000 node3:p@6000").SetName("Replica copies the leader's published physical slots, the leader's own included, never its own");
        yield return new TestCaseData(ledByNode2 with { Status = ClusterStatus.FromOptime(LeaderOptime) }, Settings(), "cdc:l?").SetName("Replica copies nothing the leader has not published");
        yield return new TestCaseData(ledByNode2, Settings(tags: Tags.NoFailover), "").SetName("A nofailover replica keeps no copies");
        yield return new TestCaseData(ledByNode2.WithMember(Node3, m => m with { Tags = Tags.ReplicateFrom(Me) }), Settings(tags: Tags.NoFailover), "node3:p").SetName("A replica keeps the slot of a member cascading from it");
        yield return new TestCaseData(ledByNode2.WithMember(Node3, m => m with { Tags = Tags.ReplicateFrom(Me) }), Settings(), "cdc:l? keep_phys:p@5000 node2:p@7000 node3:p").SetName("A cascading member's slot is not advanced from the leader's position");
    }

    [TestCaseSource(nameof(ReplicaCases))]
    public void Replica(ClusterState cluster, HaSettings settings, string expected) =>
        Assert.That(Render(ReplicationSlots.ForReplica(cluster, settings)), Is.EqualTo(expected));

    [Test]
    public void Unknown_slots_are_dropped_except_in_maintenance_mode_and_ignore_rules_travel_with_the_plan()
    {
        var cluster = LedBy(Me, Members(primary: Me));
        var plan = ReplicationSlots.ForLeader(cluster, Settings(), false);
        var paused = ReplicationSlots.ForLeader(cluster, Settings(pause: true), false);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(plan.DropUnknown, Is.True);
            Assert.That(paused.DropUnknown, Is.False);
            Assert.That(plan.Ignore.IsIgnored("external", ReplicationSlotType.Logical, "x", "y"), Is.True);
            Assert.That(plan.Ignore.IsIgnored("other", ReplicationSlotType.Physical, null, null), Is.False);
        }
    }

    [Test]
    public void Conflicts_are_reported_in_the_plan()
    {
        var plan = ReplicationSlots.ForLeader(LedBy(Me, Members(primary: Me)), Settings("""{"slots":{"node2":{"type":"logical","database":"d","plugin":"p"}}}"""), false);

        Assert.That(plan.Problems, Has.One.Contains("node2"));
    }

    [Test]
    public void The_leader_publishes_existing_slot_positions_and_its_own_name_at_its_wal_position()
    {
        var plan = ReplicationSlots.ForLeader(LedBy(Me, Members(primary: Me)), Settings(), false);
        var positions = new Dictionary<string, long> { ["keep_phys"] = 100, ["node2"] = 200, ["cdc"] = 300, ["stray"] = 400 };

        var published = ReplicationSlots.Published(plan, positions, Me, 999);

        Assert.That(published.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"),
            Is.EqualTo(new[] { "cdc=300", "keep_phys=100", "node1=999", "node2=200" }));
    }

    [Test]
    public void Plans_compare_by_content()
    {
        var cluster = LedBy(Me, Members(primary: Me));

        var first = ReplicationSlots.ForLeader(cluster, Settings(), false);
        var second = ReplicationSlots.ForLeader(cluster, Settings(), false);

        Assert.That(second, Is.EqualTo(first));
    }
}
