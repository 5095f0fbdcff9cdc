using NUnit.Framework;
using PgHa.Decisions;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Properties every row of every decision table must have: the decider is a pure function.</summary>
[TestFixture]
public sealed class DeciderPropertyTests
{
    private static IEnumerable<TestCaseData> EveryRow() =>
        DecisionTable.All().Select(row => new TestCaseData(row.Arguments[0]).SetName(row.TestName!));

    [TestCaseSource(nameof(EveryRow))]
    public void Same_inputs_give_the_same_plan_and_are_left_unchanged(Situation situation)
    {
        var cluster = situation.Cluster is null ? null : situation.Cluster with { };
        var memory = situation.Local.Memory with { };
        var peers = situation.Local.Peers;
        var settings = situation.Settings with { };

        var first = situation.Decide();
        var second = situation.Decide();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Situation.Render(second), Is.EqualTo(Situation.Render(first)));
            Assert.That(second.Reason, Is.EqualTo(first.Reason));
            Assert.That(situation.Cluster, Is.EqualTo(cluster));
            Assert.That(situation.Local.Memory, Is.EqualTo(memory));
            Assert.That(situation.Local.Peers.IsDefault ? null : situation.Local.Peers.ToArray(), Is.EqualTo(peers.IsDefault ? null : peers.ToArray()));
            Assert.That(situation.Settings, Is.EqualTo(settings));
        }
    }

    [TestCaseSource(nameof(EveryRow))]
    public void Plan_asks_for_peer_status_only_when_the_loop_would_gather_it(Situation situation)
    {
        var plan = situation.Decide();

        if (plan.NeedsPeerStatus)
        {
            using (Assert.EnterMultipleScope())
            {
                Assert.That(situation.Local.HasPeerStatus, Is.False, "peer status was gathered, yet the plan asks for it again");
                Assert.That(HaDecider.NeedsPeerStatus(situation.Cluster, situation.Local, situation.Settings), Is.True,
                    "the loop would not gather peer status, so this node would never decide");
                Assert.That(plan.Actions, Is.Empty);
            }
        }
        else
            Assert.That(plan.Reason, Is.Not.Empty);
    }

    [TestCaseSource(nameof(EveryRow))]
    public void Paused_plan_reasons_say_so(Situation situation)
    {
        var plan = situation.Decide();

        if (situation.Settings.Pause && !plan.NeedsPeerStatus)
            Assert.That(plan.Reason, Does.StartWith("PAUSE: "));
        else
            Assert.That(plan.Reason, Does.Not.StartWith("PAUSE: "));
    }
}
