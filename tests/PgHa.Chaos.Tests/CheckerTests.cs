namespace PgHa.Chaos.Tests;

/// <summary>The split-brain and lost-write checkers on hand-made histories (no PostgreSQL): they must catch what they claim to.</summary>
[TestFixture, Category("Chaos")]
public sealed class CheckerTests
{
    private static Probe Ok(string node, int session, long sent, long answered) => new(node, session, sent, answered, true, null);

    private static Probe Refused(string node, int session, long sent, long answered) => new(node, session, sent, answered, false, "read-only");

    [Test]
    public void AHandoverWithoutOverlapIsNoSplitBrain()
    {
        var probes = new[]
        {
            Ok("a", 1, 0, 10), Ok("a", 1, 40, 50), Ok("a", 1, 80, 90),
            Refused("b", 1, 0, 5), Refused("b", 1, 45, 50), Ok("b", 1, 100, 110), Ok("b", 1, 140, 150),
        };
        Assert.That(SplitBrainChecker.Find(probes), Is.Empty);
    }

    [Test]
    public void TwoSessionsAcceptingWritesOverTheSameTimeAreASplitBrain()
    {
        var probes = new[]
        {
            Ok("a", 1, 0, 10), Ok("a", 1, 40, 50), Ok("a", 1, 80, 90),
            Ok("b", 1, 20, 30), Ok("b", 1, 60, 70),
        };
        var found = SplitBrainChecker.Find(probes);
        Assert.That(found, Is.Not.Empty);
        Assert.That(found.Any(f => f.First.Kind == IntervalKind.Span && f.Second.Kind == IntervalKind.Span), Is.True,
            "a's span [10, 40] (and [50, 80]) overlaps b's span [30, 60]");
    }

    [Test]
    public void OneCommitWhollyInsideAnotherNodesSpanIsASplitBrain()
    {
        var probes = new[] { Ok("a", 1, 0, 10), Ok("a", 1, 100, 110), Ok("b", 7, 20, 30) };
        var found = SplitBrainChecker.Find(probes);
        Assert.That(found, Has.Count.EqualTo(1));
        Assert.That((found[0].First.Kind, found[0].Second.Kind), Is.EqualTo((IntervalKind.Span, IntervalKind.Commit)));
    }

    [Test]
    public void SlowAcknowledgementsNeverFabricateOverlap()
    {
        // b's commit window [5, 60] straddles a's span start: its commit may have come before a took over.
        var probes = new[] { Ok("a", 1, 0, 20), Ok("a", 1, 50, 55), Ok("b", 1, 5, 60) };
        Assert.That(SplitBrainChecker.Find(probes), Is.Empty);
    }

    [Test]
    public void ASpanNeedsTheSameSessionAndNoRefusalBetween()
    {
        // a reconnected (session 2) and was refused in between: no proof it stayed a primary from 10 to 100.
        var probes = new[]
        {
            Ok("a", 1, 0, 10), Ok("a", 2, 100, 110),
            Ok("a", 3, 200, 210), Refused("a", 3, 250, 260), Ok("a", 3, 300, 310),
            Ok("b", 1, 20, 30), Ok("b", 1, 40, 50), Ok("b", 2, 270, 275), Ok("b", 2, 280, 285),
        };
        Assert.That(SplitBrainChecker.Find(probes), Is.Empty);
    }

    private static AckedWrite Ack(long id, int timeline, ulong lsn) => new(id, timeline, lsn, 5432, 0, 1);

    [Test]
    public void WritesPresentOnTheLeaderAreNotLost() =>
        Assert.That(LostWriteChecker.Check([Ack(1, 1, 100), Ack(2, 1, 200)], new HashSet<long> { 1, 2 }, 1, new Dictionary<int, ulong>(), false, 1 << 20), Is.Empty);

    [Test]
    public void AMissingWriteOnTheFinalTimelineIsAlwaysAViolation()
    {
        var lost = LostWriteChecker.Check([Ack(1, 2, 100)], new HashSet<long>(), 2, new Dictionary<int, ulong> { [1] = 50 }, false, 1 << 20);
        Assert.That(lost.Single(), Is.EqualTo(new LostWrite(Ack(1, 2, 100), LossKind.OnSurvivingHistory, 0, true)));
    }

    [Test]
    public void AMissingWriteWellBeforeTheSwitchPointIsAViolation()
    {
        var lost = LostWriteChecker.Check([Ack(1, 1, 1000)], new HashSet<long>(), 2, new Dictionary<int, ulong> { [1] = 1000 + LostWriteChecker.CommitSlack }, false, 1 << 20);
        Assert.That(lost.Single().Kind, Is.EqualTo(LossKind.OnSurvivingHistory));
        Assert.That(lost.Single().Violation, Is.True);
    }

    [Test]
    public void AsynchronousModeAllowsLossBeyondTheSwitchPointUpToMaximumLagOnFailover()
    {
        var history = new Dictionary<int, ulong> { [1] = 10_000_000 };
        var lost = LostWriteChecker.Check([Ack(1, 1, 10_500_000), Ack(2, 1, 12_000_000)], new HashSet<long>(), 2, history, false, 1_048_576);
        Assert.That(lost.Select(l => (l.Kind, l.LagBytes, l.Violation)), Is.EqualTo(new[]
        {
            (LossKind.BeyondSwitchPoint, 500_000UL, false),
            (LossKind.BeyondSwitchPoint, 2_000_000UL, true),
        }));
    }

    [Test]
    public void SynchronousModeAllowsNoLossAtAll()
    {
        var lost = LostWriteChecker.Check([Ack(1, 1, 10_000_001)], new HashSet<long>(), 2, new Dictionary<int, ulong> { [1] = 10_000_000 }, true, 1_048_576);
        Assert.That(lost.Single().Violation, Is.True);
    }

    [Test]
    public void AWriteOnATimelineOutsideTheHistoryIsAViolation()
    {
        var lost = LostWriteChecker.Check([Ack(1, 3, 100)], new HashSet<long>(), 4, new Dictionary<int, ulong> { [1] = 50, [2] = 80 }, false, 1 << 20);
        Assert.That((lost.Single().Kind, lost.Single().Violation), Is.EqualTo((LossKind.AbandonedTimeline, true)));
    }

    [Test]
    public void ParsesPostgreSqlTimelineHistory()
    {
        var history = LostWriteChecker.ParseHistory("1\t0/5000198\tno recovery target specified\n\n2\t1/A0000028\tno recovery target specified\n");
        Assert.That(history, Is.EqualTo(new Dictionary<int, ulong> { [1] = 0x5000198, [2] = 0x1_A0000028 }));
        Assert.That(() => LostWriteChecker.ParseHistory("x\ty"), Throws.InstanceOf<FormatException>().With.Message.Contains("x\ty"));
    }
}
