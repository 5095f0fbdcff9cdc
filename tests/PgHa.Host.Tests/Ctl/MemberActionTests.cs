using PgHa.Host.Ctl;

namespace PgHa.Host.Tests.Ctl;

/// <summary><c>restart</c>, <c>reload</c>, <c>reinit</c>, <c>flush</c>, <c>pause</c>/<c>resume</c>, <c>remove</c>, <c>dsn</c>, <c>version</c>.</summary>
[TestFixture]
public sealed class MemberActionTests
{
    private static CtlHarness Tags()
    {
        var harness = new CtlHarness();
        harness.LoadState("tags");
        return harness;
    }

    [Test]
    public void RestartAsksWhenAndWhichVersionThenPostsTheConditions()
    {
        using var harness = Tags();
        var (exit, output, error, console) = harness.Run(["restart", "batman", "node1", "--pending", "--timeout", "30"], "", "y", "15.4");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, error);
            Assert.That(console.Unanswered, Is.Zero);
            Assert.That(output, Does.Contain("When should the restart take place (e.g. "));
            Assert.That(output, Does.Contain(")  [now]: Are you sure you want to restart members node1? [y/N]: Restart if the PostgreSQL version is less than provided (e.g. 9.5.2)  []: Success: restart on member node1\n"));
            Assert.That(harness.Rest.Calls.Single(), Is.EqualTo(("node1", "POST", "restart", (string?)"""{"restart_pending":true,"postgres_version":"15.4","timeout":"30"}""")));
        });
    }

    [Test]
    public void RestartByRoleWithForceAsksNothingAndReportsEachMember()
    {
        using var harness = Tags();
        harness.Rest.Replies["POST restart"] = m => m.Name == "node3" ? new RestReply(503, "restart failed") : new RestReply(200, "restarted successfully");
        var (exit, output, _, _) = harness.Run(["restart", "batman", "--role", "replica", "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1), "a failed member makes the command fail");
            Assert.That(output, Does.EndWith("Success: restart on member node1\nFailed: restart for member node3, status code=503, (restart failed)\n"));
            Assert.That(harness.Rest.Calls.Select(c => (c.Member, c.Body)), Is.EqualTo(new[] { ("node1", (string?)"{}"), ("node3", "{}") }));
        });
    }

    [Test]
    public void ForcedScheduledRestartReplacesAScheduleThatExists()
    {
        using var harness = new CtlHarness();
        harness.LoadState("cascade"); // node1 has a scheduled restart
        harness.Rest.Replies["POST restart"] = _ => new RestReply(202, "Restart scheduled");
        var (exit, output, _, _) = harness.Run(["restart", "batman", "node1", "--scheduled", "2030-01-01T10:00Z", "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.EndWith("Success: restart scheduled on member node1\n"));
            Assert.That(harness.Rest.Calls.Select(c => $"{c.Method} {c.Endpoint} {c.Body}"), Is.EqualTo(new[] { "DELETE restart ", """POST restart {"schedule":"2030-01-01T10:00:00+00:00"}""" }));
        });
    }

    [TestCase(new[] { "restart", "batman", "node9", "--force" }, "Error: No any among provided members\n")]
    [TestCase(new[] { "restart", "batman", "node1", "--pg-version", "fifteen", "--force" }, "Error: Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: fifteen\n")]
    [TestCase(new[] { "reinit", "batman", "node2", "--force" }, "Error: No replica among provided members\n")]
    public void RefusesBadMembersAndVersions(string[] args, string expected)
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(args);
        Assert.That((exit, error, harness.Rest.Calls.Count), Is.EqualTo((1, expected, 0)));
    }

    [Test]
    public void ReloadSaysWhenTheChangeWillBeApplied()
    {
        using var harness = Tags();
        harness.Rest.Replies["POST reload"] = m => m.Name == "node1" ? new RestReply(202, "reload scheduled") : new RestReply(200, "");
        var (exit, output, _, _) = harness.Run(["reload", "batman", "node1", "node2"], "y");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.EndWith("Are you sure you want to reload members node1, node2? [y/N]: Reload request received for member node1 and will be processed within 10 seconds\nNo changes to apply on member node2\n"));
        });
    }

    [Test]
    public void ReinitAsksWhichReplicaOffersToCancelARunningOneAndWaits()
    {
        using var harness = Tags();
        var attempts = 0;
        harness.Rest.Replies["POST reinitialize"] = _ => ++attempts == 1 ? new RestReply(503, "reinitialize already in progress") : new RestReply(200, "reinitialize started");
        var polls = 0;
        harness.Rest.Replies["GET patroni"] = _ => new RestReply(200, ++polls < 3 ? """{"state": "creating replica"}""" : """{"state": "running"}""");
        var (exit, output, error, console) = harness.Run(["reinit", "batman", "--wait"], "node1", "y", "y");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, error);
            Assert.That(console.Unanswered, Is.Zero);
            Assert.That(output, Does.Contain("Which member do you want to reinitialize [node1, node3]? []: Are you sure you want to reinitialize members node1? [y/N]: "));
            Assert.That(output, Does.Contain("Failed: reinitialize for member node1, status code=503, (reinitialize already in progress)\nDo you want to cancel it and reinitialize anyway? [y/N]: Success: reinitialize for member node1\nWaiting for reinitialize to complete on: node1\n"));
            Assert.That(output, Does.Contain(" node1: creating replica\n").And.EndWith(" node1: running\nReinitialize is completed on: node1\n"));
            Assert.That(harness.Rest.Calls.Where(c => c.Method == "POST").Select(c => c.Body), Is.EqualTo(new[] { """{"force":false}""", """{"force":true}""" }));
        });
    }

    [Test]
    public void FlushSwitchoverFallsBackToTheDcsWhenNoMemberAnswers()
    {
        using var harness = new CtlHarness();
        harness.LoadState("scheduled-switchover");
        harness.Rest.Replies["DELETE switchover"] = _ => new RestReply(200, "scheduled switchover deleted");
        var (exit, output, _, _) = harness.Run(["flush", "batman", "switchover"]);
        Assert.That((exit, output), Is.EqualTo((0, "Success: scheduled switchover deleted\n")));
        Assert.That(harness.Rest.Calls.Single().Member, Is.EqualTo("node1"), "the leader is asked first");

        foreach (var m in new[] { "node1", "node2", "node3" }) harness.Rest.Unreachable.Add(m);
        var (exit2, output2, _, _) = harness.Run(["flush", "batman", "switchover"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit2, Is.Zero);
            Assert.That(output2, Does.EndWith(" Could not find any accessible member of cluster batman\n"));
            Assert.That(harness.Key("failover"), Is.EqualTo("{}"));
        });
        var (_, output3, _, _) = harness.Run(["flush", "batman", "switchover"]);
        Assert.That(output3, Is.EqualTo("No pending scheduled switchover\n"));
    }

    [Test]
    public void FlushRestartDeletesOnlyScheduledRestarts()
    {
        using var harness = new CtlHarness();
        harness.LoadState("cascade");
        harness.Rest.Replies["DELETE restart"] = _ => new RestReply(200, "");
        var (exit, output, _, _) = harness.Run(["flush", "batman", "node1", "node2", "restart", "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.EndWith("Success: flush scheduled restart for member node1\nNo scheduled restart for member node2\n"));
            Assert.That(harness.Rest.Calls.Select(c => (c.Member, c.Method)), Is.EqualTo(new[] { ("node1", "DELETE") }));
        });
        var (exit2, _, error2, _) = harness.Run(["flush", "batman", "node1"]);
        Assert.That((exit2, error2), Is.EqualTo((2, "Error: flush needs CLUSTER_NAME [MEMBER_NAMES]... followed by 'restart' or 'switchover', e.g. pgha ctl flush batman switchover\n")));
    }

    [Test]
    public void PausePatchesTheLeaderFirstAndFallsToTheNextMember()
    {
        using var harness = Tags();
        harness.Rest.Unreachable.Add("node2");
        var (exit, output, error, _) = harness.Run(["pause"]);
        Assert.Multiple(() =>
        {
            Assert.That((exit, output), Is.EqualTo((0, "Success: cluster management is paused\n")));
            Assert.That(error, Does.Contain("Member node2 is not accessible"));
            Assert.That(harness.Rest.Calls.Select(c => (c.Member, c.Method, c.Endpoint, c.Body)), Is.EqualTo(new[] { ("node2", "PATCH", "config", (string?)"""{"pause":true}"""), ("node1", "PATCH", "config", """{"pause":true}""") }));
        });
    }

    [Test]
    public void PauseRefusesWhenAlreadyPausedAndResumeSendsNull()
    {
        using var harness = new CtlHarness();
        harness.LoadState("paused");
        var (exit, _, error, _) = harness.Run(["pause"]);
        Assert.That((exit, error), Is.EqualTo((1, "Error: Cluster is already paused\n")));
        var (exit2, output2, _, _) = harness.Run(["resume"]);
        Assert.That((exit2, output2, harness.Rest.Calls.Single().Body), Is.EqualTo((0, "Success: cluster management is resumed\n", (string?)"""{"pause":null}""")));
    }

    [Test]
    public void PauseWithNoReachableMemberSaysHowToDoItInTheDcs()
    {
        using var harness = Tags();
        foreach (var m in new[] { "node1", "node2", "node3" }) harness.Rest.Unreachable.Add(m);
        var (exit, _, error, _) = harness.Run(["pause"]);
        Assert.That((exit, error.Split('\n').Single(l => l.StartsWith("Error:", StringComparison.Ordinal))),
            Is.EqualTo((1, "Error: Can not find accessible cluster member (tried node2, node1, node3). Start a member's agent, or change the setting in the DCS directly: pgha ctl edit-config -s pause=true --force")));
    }

    [Test]
    public void RemoveNeedsTheNameTheSentenceAndTheLeader()
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(["remove", "batman"], "batman", "Yes I am aware", "node1");
        Assert.That((exit, error, harness.Key("leader")), Is.EqualTo((1, "Error: You did not specify the current leader of the cluster\n", (string?)"node2")));
        var (exit2, _, error2, _) = harness.Run(["remove", "batman"], "batman", "yes");
        Assert.That((exit2, error2), Is.EqualTo((1, "Error: You did not exactly type \"Yes I am aware\"\n")));
        var (exit3, output3, _, _) = harness.Run(["remove", "batman"], "batman", "Yes I am aware", "node2");
        Assert.Multiple(() =>
        {
            Assert.That(exit3, Is.Zero);
            Assert.That(output3, Does.EndWith("Please confirm the cluster name to remove: You are about to remove all information in DCS for batman, please type: \"Yes I am aware\": This cluster currently is healthy. Please specify the leader name to continue: "));
            Assert.That(harness.Store.ReadAll(CtlHarness.Prefix), Is.Empty);
        });
    }

    [Test]
    public void DsnRefusesRoleWithMember()
    {
        using var harness = Tags();
        var (exit, _, error, _) = harness.Run(["dsn", "-r", "replica", "-m", "node1"]);
        Assert.That((exit, error), Is.EqualTo((1, "Error: --role and --member are mutually exclusive options\n")));
        var (_, output, _, _) = harness.Run(["dsn", "-m", "node3"]);
        Assert.That(output, Is.EqualTo("host=127.0.0.1 port=25443\n"));
    }

    [Test]
    public void VersionAsksEachMember()
    {
        using var harness = Tags();
        harness.Rest.Replies["GET patroni"] = m => new RestReply(200, """{"server_version": 150020, "patroni": {"version": "3.0.2", "scope": "batman"}}""");
        harness.Rest.Unreachable.Add("node3");
        var (exit, output, _, _) = harness.Run(["version", "batman"]);
        Assert.That(output, Does.StartWith("pgha ctl version ").And.EndWith("\n\nnode1: Patroni 3.0.2 PostgreSQL 15.20\nnode2: Patroni 3.0.2 PostgreSQL 15.20\nnode3: failed to get version: cannot reach node3: Connection refused\n"));
        Assert.That(exit, Is.EqualTo(1));
    }

    [Test]
    public void AnUnreachableDcsSaysWhatToCheck()
    {
        using var harness = Tags();
        harness.DcsReachable = false;
        var (exit, _, error, _) = harness.Run(["list"]);
        Assert.That(error, Does.StartWith("Error: cannot read cluster batman from the DCS (etcd3): ").And.EndWith("Check that the DCS is running and reachable as configured in the etcd3 section.\n"));
        Assert.That(exit, Is.EqualTo(1));
    }
}
