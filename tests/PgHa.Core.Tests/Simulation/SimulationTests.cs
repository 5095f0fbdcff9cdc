using NUnit.Framework;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using PgHa.Decisions;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// Runs the real HA loop and decision engine through the deterministic simulator: thousands of seeds of random faults
/// with the invariants checked after every event, and planted bugs the checker must catch.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class SimulationTests
{
    private const int Seeds = 2000;
    private const int CyclesPerSeed = 200;

    [Test]
    public void ThousandsOfFaultySeedsKeepEveryInvariant()
    {
        var violations = new ConcurrentBag<string>();
        var cycles = new ConcurrentBag<long>();
        var failovers = 0L;
        Parallel.For(1, Seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { MinCycles = CyclesPerSeed }).Run();
            cycles.Add(result.Cycles);
            Interlocked.Add(ref failovers, result.Failovers);
            if (result.Violation is not null) violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed}");
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(cycles, Has.All.GreaterThanOrEqualTo(CyclesPerSeed), "every seed runs at least the promised number of HA cycles");
            Assert.That(failovers, Is.GreaterThan(Seeds / 2), "the faults must actually cause failovers, or the run proves nothing");
        }
    }

    [Test]
    public void SameSeedReplaysIdentically()
    {
        var first = new SimulationRun(4242, new SimulationOptions { Trace = true }).Run();
        var second = new SimulationRun(4242, new SimulationOptions { Trace = true }).Run();
        Assert.That(second.Trace, Is.EqualTo(first.Trace));
        Assert.That(first.Trace, Has.Count.GreaterThan(100));
    }

    [Test]
    public void FiveNodeClustersKeepEveryInvariant()
    {
        var violations = new ConcurrentBag<string>();
        Parallel.For(1, 201, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { Nodes = 5 }).Run();
            if (result.Violation is not null) violations.Add($"seed {seed}: {result.Violation}");
        });
        Assert.That(violations, Is.Empty);
    }

    [Test]
    public void RefusingPrePromotesNeverPromoteAndTheClusterStillHeals()
    {
        var violations = new ConcurrentBag<string>();
        var refusals = 0L;
        Parallel.For(1, 151, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { PrePromoteFaults = true }).Run();
            Interlocked.Add(ref refusals, result.PrePromoteRefusals);
            if (result.Violation is not null) violations.Add($"seed {seed} ({result.Settings}): {result.Violation}");
        });
        Assert.That(violations, Is.Empty);
        TestContext.Out.WriteLine($"{refusals} pre_promote refusals over 150 seeds");
        Assert.That(refusals, Is.GreaterThan(15), "refusing pre_promotes must actually meet promotions, or the run proves nothing");
    }

    // The checker has teeth: each planted bug must be caught within a bounded number of seeds.

    [Test]
    public void CatchesPromotionWithoutWaitingForLockExpiry()
    {
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { BrokenAcquire = true }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("accept writes").Or.Contain("accepts writes"));
    }

    [Test]
    public void CatchesALeaderThatNeverDemotesWhenItsFenceIsBroken()
    {
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { BrokenFence = true, PlanFilter = WithoutDemotions }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("accepts writes").Or.Contain("accept writes"));
    }

    [Test]
    public void CatchesABrokenWriteFenceWhenAnAgentIsFrozen()
    {
        // Without the fence a SIGSTOPped leader's PostgreSQL keeps accepting writes after its lock expired.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { BrokenFence = true }, maxSeeds: 500);
        Assert.That(violation, Does.Contain("accepts writes").Or.Contain("accept writes"));
    }

    [Test]
    public void CatchesPromotionBeyondMaximumLagOnFailover()
    {
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { EngineMaximumLagOverride = long.MaxValue / 4 }, maxSeeds: 1000);
        Assert.That(violation, Does.Contain("maximum_lag_on_failover"));
    }

    [Test]
    public void CatchesAClusterThatNeverElectsALeader()
    {
        // A rule that never races leaves the cluster leaderless after the first failover.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { PlanFilter = WithoutLockRaces }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("no single leader"));
    }

    private static HaPlan WithoutDemotions(HaPlan plan) => plan with { Actions = Strip(plan.Actions, a => a is Demote) };

    private static HaPlan WithoutLockRaces(HaPlan plan) => plan with { Actions = Strip(plan.Actions, a => a is AcquireLock) };

    private static ImmutableArray<HaAction> Strip(ImmutableArray<HaAction> actions, Func<HaAction, bool> drop) =>
        actions.Where(a => !drop(a)).Select(a => a switch
        {
            AcquireLock acq => acq with { OnWon = Strip(acq.OnWon, drop), OnLost = Strip(acq.OnLost, drop) },
            RenewLock ren => ren with { OnRenewed = Strip(ren.OnRenewed, drop), OnFailed = Strip(ren.OnFailed, drop) },
            RaceInitialize race => race with { OnWon = Strip(race.OnWon, drop) },
            _ => a,
        }).ToImmutableArray();
}
