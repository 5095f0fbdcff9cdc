using PgHa.Host.Ctl;

namespace PgHa.Host.Tests.Ctl;

/// <summary><c>switchover</c> / <c>failover</c>: patronictl's questions, checks, REST call to the leader and DCS fallback.</summary>
[TestFixture]
public sealed class SwitchoverTests
{
    private static CtlHarness Tags()
    {
        var harness = new CtlHarness();
        harness.LoadState("tags"); // node2 leads; node1 replica; node3 nofailover
        harness.Rest.Replies["POST switchover"] = _ => new RestReply(200, "Successfully switched over to \"node1\"");
        return harness;
    }

    [Test]
    public void AsksLeaderCandidateTimeAndConfirmationThenPostsToTheLeader()
    {
        using var harness = Tags();
        var (exit, output, error, console) = harness.Run(["switchover"], "", "", "", "y");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, error);
            Assert.That(console.Unanswered, Is.Zero);
            Assert.That(output, Does.StartWith("Current cluster topology\n+ Cluster: batman "));
            Assert.That(output, Does.Contain("Primary [node2]: Candidate ['node1'] []: When should the switchover take place (e.g. "));
            Assert.That(output, Does.Contain(" )  [now]: Are you sure you want to switchover cluster batman, demoting current leader node2? [y/N]: "));
            Assert.That(output, Does.Match(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} Successfully switched over to ""node1""\n\+ Cluster: batman"));
            Assert.That(harness.Rest.Calls, Is.EqualTo(new[] { ("node2", "POST", "switchover", (string?)"""{"leader":"node2","candidate":null,"scheduled_at":null}""") }));
        });
    }

    [Test]
    public void DecliningAbortsWithoutACall()
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(["switchover", "--candidate", "node1", "--scheduled", "now"], "", "n");
        Assert.Multiple(() =>
        {
            Assert.That((exit, error), Is.EqualTo((1, "Error: Aborting switchover\n")));
            Assert.That(harness.Rest.Calls, Is.Empty);
        });
    }

    [TestCase(new[] { "--leader", "node1", "--force" }, "Error: Member node1 is not the leader of cluster batman\n")]
    [TestCase(new[] { "--candidate", "node3", "--force" }, "Error: Member node3 does not exist in cluster batman\n")]
    [TestCase(new[] { "--candidate", "node2", "--force" }, "Error: Switchover target and source are the same.\n")]
    [TestCase(new[] { "--candidate", "node1", "--scheduled", "not a time", "--force" }, "Error: Unable to parse scheduled timestamp (not a time). It should be in an unambiguous format (e.g. ISO 8601)\n")]
    public void RefusesWhatPatronictlRefuses(string[] args, string expected)
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(["switchover", .. args]);
        Assert.Multiple(() =>
        {
            Assert.That((exit, error), Is.EqualTo((1, expected)));
            Assert.That(harness.Rest.Calls, Is.Empty);
        });
    }

    [Test]
    public void ScheduledSwitchoverSendsTheTimeWithItsOffset()
    {
        using var harness = Tags();
        harness.Rest.Replies["POST switchover"] = _ => new RestReply(202, "Switchover scheduled");
        var (exit, output, _, _) = harness.Run(["switchover", "--candidate", "node1", "--scheduled", "2030-01-01T10:00+02:00"], "", "y");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.Contain("Are you sure you want to schedule switchover of cluster batman at 2030-01-01T10:00:00+02:00, demoting current leader node2? [y/N]: "));
            Assert.That(harness.Rest.Calls.Single().Body, Is.EqualTo("""{"leader":"node2","candidate":"node1","scheduled_at":"2030-01-01T10:00:00+02:00"}"""));
        });
    }

    [Test]
    public void AFailedSwitchoverShowsTheLeadersAnswerAndExitsNonZero()
    {
        using var harness = Tags();
        harness.Rest.Replies["POST switchover"] = _ => new RestReply(412, "candidate name does not match with sync_standby");
        var (exit, output, _, _) = harness.Run(["switchover", "--candidate", "node1", "--force"]);
        Assert.That((exit, output.Contains("Switchover failed, details: 412, candidate name does not match with sync_standby\n", StringComparison.Ordinal)), Is.EqualTo((1, true)));
    }

    [Test]
    public void WhenTheLeaderCannotBeReachedTheRequestGoesIntoTheDcs()
    {
        using var harness = Tags();
        harness.Rest.Unreachable.Add("node2");
        var (exit, output, _, _) = harness.Run(["switchover", "--candidate", "node1", "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.Contain(" Could not switchover using Patroni api, falling back to DCS\n"));
            Assert.That(harness.Key("failover"), Is.EqualTo("""{"leader":"node2","member":"node1"}"""));
        });
    }

    [Test]
    public void FailoverNeedsACandidateAndPostsFailover()
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(["failover", "--force"]);
        Assert.That((exit, error), Is.EqualTo((1, "Error: Failover could be performed only to a specific candidate\n")));

        harness.Rest.Replies["POST failover"] = _ => new RestReply(200, "Successfully failed over to \"node1\"");
        var (exit2, output2, _, _) = harness.Run(["failover", "--candidate", "node1"], "y");
        Assert.Multiple(() =>
        {
            Assert.That(exit2, Is.Zero);
            Assert.That(output2, Does.Contain("Are you sure you want to failover cluster batman, demoting current leader node2? [y/N]: "));
            Assert.That(harness.Rest.Calls.Single(), Is.EqualTo(("node2", "POST", "failover", (string?)"""{"leader":"node2","candidate":"node1","scheduled_at":null}""")));
        });
    }

    [Test]
    public void NoScheduledSwitchoverWhilePaused()
    {
        using var harness = new CtlHarness();
        harness.LoadState("paused");
        var (exit, _, error, _) = harness.Run(["switchover", "--candidate", "node1", "--scheduled", "2030-01-01T10:00Z", "--force"]);
        Assert.That((exit, error), Is.EqualTo((1, "Error: Can't schedule switchover in the paused state\n")));
    }

    [Test]
    public void ScheduledTimesWithoutAZoneAreLocal()
    {
        var at = CtlCommands.ParseScheduled("2030-06-01 12:30", TimeProvider.System)!.Value;
        Assert.That((at.DateTime, at.Offset), Is.EqualTo((new DateTime(2030, 6, 1, 12, 30, 0), TimeZoneInfo.Local.GetUtcOffset(new DateTime(2030, 6, 1, 12, 30, 0)))));
        Assert.That(CtlCommands.ParseScheduled("now", TimeProvider.System), Is.Null);
    }
}
