using System.Collections.Concurrent;
using System.Collections.Immutable;
using NUnit.Framework;
using PgHa.Decisions;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// Standby clusters through the deterministic simulator: the cluster replicates a simulated remote primary under the
/// usual faults plus remote outages, node↔remote partitions and remote timeline switches, settles with one standby
/// leader, and is then promoted by removing <c>standby_cluster</c> while faults go on. Planted bugs in the rules prove
/// the standby invariants notice.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class StandbyClusterSimulationTests
{
    [TestCase(3, 200)]
    [TestCase(2, 60)]
    public void FaultySeedsNeverWriteBeforePromotionAndHealTwice(int nodes, int seeds)
    {
        var violations = new ConcurrentBag<string>();
        var leaderChanges = 0L;
        var promoted = 0;
        var underFaults = 0;
        Parallel.For(1, seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { Nodes = nodes, StandbyCluster = true }).Run();
            Interlocked.Add(ref leaderChanges, result.StandbyLeaderChanges);
            if (result.PromotedOutOfStandby) Interlocked.Increment(ref promoted);
            if (result.SectionRemovedUnderFaults) Interlocked.Increment(ref underFaults);
            if (result.Violation is not null)
                violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed} --nodes {nodes} --standby-cluster");
        });
        TestContext.Out.WriteLine($"{leaderChanges} standby leader changes, {promoted} promotions out of the standby cluster ({underFaults} with the section removed under faults) over {seeds} seeds");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(promoted, Is.EqualTo(seeds), "every seed ends with the standby cluster promoted, or the second half proves nothing");
            Assert.That(leaderChanges, Is.GreaterThan(seeds / 4), "the faults must move the standby leader in many seeds, or the run proves nothing");
            Assert.That(underFaults, Is.GreaterThan(seeds / 3), "many promotions must happen while faults go on, or the run proves little");
        }
    }

    [Test]
    public void SameSeedReplaysIdentically()
    {
        var first = new SimulationRun(77, new SimulationOptions { StandbyCluster = true, Trace = true }).Run();
        var second = new SimulationRun(77, new SimulationOptions { StandbyCluster = true, Trace = true }).Run();
        Assert.That(second.Trace, Is.EqualTo(first.Trace));
        Assert.That(first.Trace, Has.Some.Contains("operator removed standby_cluster"));
    }

    [Test]
    public void RefusesACombinationItDoesNotModel() =>
        Assert.That(() => new SimulationRun(1, new SimulationOptions { StandbyCluster = true, FailsafeMode = true }),
            Throws.ArgumentException.With.Message.Contains("standby cluster"));

    // The checker has teeth: each planted bug must be caught within a bounded number of seeds.

    [Test]
    public void CatchesAStandbyLeaderThatPromotes()
    {
        // Planted: a node that wins or holds the lock promotes instead of following the remote primary.
        // (In a seed where the lock holder's PostgreSQL is down, the broken rule shows as "no single standby leader".)
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { StandbyCluster = true, PlanFilter = PromoteInsteadOfFollowingTheRemote },
            maxSeeds: 200, containing: "while the cluster is a standby cluster");
        Assert.That(violation, Does.Contain("(standby_cluster is set)"));
    }

    [Test]
    public void CatchesReplicasThatFollowTheRemoteInsteadOfTheStandbyLeader()
    {
        // Planted: every member that should stream from a member streams from the remote primary.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { StandbyCluster = true, PlanFilter = FollowTheRemoteInsteadOfAMember }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("follows the remote primary although"));
    }

    [Test]
    public void CatchesAStandbyClusterThatNeverElectsAStandbyLeader()
    {
        // Planted: nobody races, so the standby cluster is leaderless after its first standby leader went away.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { StandbyCluster = true, PlanFilter = WithoutLockRaces }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("no single standby leader following the remote"));
    }

    [Test]
    public void CatchesAStandbyLeaderThatIsNeverPromoted()
    {
        // Planted: the lock holder never promotes once standby_cluster is gone.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { StandbyCluster = true, PlanFilter = WithoutPromotions }, maxSeeds: 50);
        Assert.That(violation, Does.Contain("no single leader after standby_cluster was removed"));
    }

    [Test]
    public void CatchesAPromotionOutOfTheStandbyClusterBeyondMaximumLagOnFailover()
    {
        // Planted: the engine ignores maximum_lag_on_failover, so a member far behind the standby leader may take over
        // and be promoted when the section goes.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { StandbyCluster = true, EngineMaximumLagOverride = long.MaxValue / 4 }, maxSeeds: 1000);
        Assert.That(violation, Does.Contain("maximum_lag_on_failover"));
    }

    private static HaPlan PromoteInsteadOfFollowingTheRemote(HaPlan plan) =>
        plan with { Actions = Nested(plan.Actions, a => a is FollowRemotePrimary ? new Promote() : a) };

    private static HaPlan FollowTheRemoteInsteadOfAMember(HaPlan plan) =>
        plan with { Actions = Map(plan.Actions, a => a is Follow { Upstream: not null } ? new FollowRemotePrimary() : a) };

    private static HaPlan WithoutLockRaces(HaPlan plan) =>
        plan with { Actions = [.. plan.Actions.Where(a => a is not AcquireLock)] };

    private static HaPlan WithoutPromotions(HaPlan plan) =>
        plan with { Actions = Nested(plan.Actions, a => a is Promote ? null : a) };

    /// <summary>Rewrites every step, at the top and in every branch (null drops it).</summary>
    private static ImmutableArray<HaAction> Map(ImmutableArray<HaAction> actions, Func<HaAction, HaAction?> change) =>
        [.. actions.Select(change).OfType<HaAction>().Select(a => a switch
        {
            AcquireLock acq => acq with { OnWon = Map(acq.OnWon, change), OnLost = Map(acq.OnLost, change) },
            RenewLock ren => ren with { OnRenewed = Map(ren.OnRenewed, change), OnFailed = Map(ren.OnFailed, change) },
            RaceInitialize race => race with { OnWon = Map(race.OnWon, change) },
            _ => a,
        })];

    /// <summary>Rewrites only the steps inside lock branches (what the lock holder does).</summary>
    private static ImmutableArray<HaAction> Nested(ImmutableArray<HaAction> actions, Func<HaAction, HaAction?> change) =>
        [.. actions.Select(a => a switch
        {
            AcquireLock acq => acq with { OnWon = Map(acq.OnWon, change) },
            RenewLock ren => ren with { OnRenewed = Map(ren.OnRenewed, change) },
            _ => a,
        })];
}
