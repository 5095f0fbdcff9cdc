using System.Collections.Concurrent;
using System.Collections.Immutable;
using NUnit.Framework;
using PgHa.Decisions;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// Synchronous mode through the deterministic simulator: commits are acknowledged only once the standbys named in
/// synchronous_standby_names have them, and no promotion may lose an acknowledged commit. Planted bugs prove the
/// checker catches a lost write.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class SynchronousSimulationTests
{
    [TestCase(false, 600)]
    [TestCase(true, 300)]
    public void FaultySeedsNeverLoseAnAcknowledgedWrite(bool strict, int seeds)
    {
        var violations = new ConcurrentBag<string>();
        var failovers = 0L;
        Parallel.For(1, seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { SynchronousMode = true, SynchronousModeStrict = strict }).Run();
            Interlocked.Add(ref failovers, result.Failovers);
            if (result.Violation is not null)
                violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed} {(strict ? "--strict" : "--sync")}");
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(failovers, Is.GreaterThan(seeds / 2), "the faults must actually cause failovers, or the run proves nothing");
        }
    }

    [Test]
    public void CatchesAsynchronousFailoverLosingAcknowledgedWrites()
    {
        // The engine runs asynchronous replication: any replica may be promoted, missing what the leader acknowledged.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { SynchronousMode = true, EngineIgnoresSynchronousMode = true }, maxSeeds: 400);
        Assert.That(violation, Does.Contain("acknowledged write is lost"));
    }

    [Test]
    public void APrimaryThatIgnoresSynchronousStandbyNamesNeverGetsPromotableStandbys()
    {
        // Defence in depth: if PostgreSQL does not run with the names PgHa set, no standby is ever confirmed, so only
        // the leader stays promotable and nothing acknowledged can be lost.
        Parallel.For(1, 101, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions
            {
                SynchronousMode = true,
                PlanFilter = p => Map(p, a => a is SetSynchronousStandbyNames ? new SetSynchronousStandbyNames("") : a),
            }).Run();
            Assert.That(result.Violation, Is.Null.Or.Not.Contain("acknowledged write is lost"), $"seed {seed}");
        });
    }

    [Test]
    public void CatchesASyncKeyThatNamesStandbysBeforeTheyCaughtUp()
    {
        // Every streaming member is declared synchronous at once, before PostgreSQL waited for it.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            SynchronousMode = true,
            PlanFilter = p => Map(p, a => a is WriteSyncState w ? w with { Standbys = ["node1", "node2", "node3"] } : a),
        }, maxSeeds: 400);
        Assert.That(violation, Does.Contain("acknowledged write is lost"));
    }

    private static HaPlan Map(HaPlan plan, Func<HaAction, HaAction> change) => plan with { Actions = Map(plan.Actions, change) };

    private static ImmutableArray<HaAction> Map(ImmutableArray<HaAction> actions, Func<HaAction, HaAction> change) =>
        actions.Select(a => change(a switch
        {
            AcquireLock acq => acq with { OnWon = Map(acq.OnWon, change), OnLost = Map(acq.OnLost, change) },
            RenewLock ren => ren with { OnRenewed = Map(ren.OnRenewed, change), OnFailed = Map(ren.OnFailed, change) },
            RaceInitialize race => race with { OnWon = Map(race.OnWon, change) },
            WriteSyncState w => w with { OnWritten = Map(w.OnWritten, change) },
            DeleteSyncState d => d with { OnDeleted = Map(d.OnDeleted, change) },
            _ => a,
        })).ToImmutableArray();
}
