using System.Collections.Concurrent;
using NUnit.Framework;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// Failsafe mode through the deterministic simulator: DCS outages, node↔DCS and node↔node partitions, frozen and killed
/// agents, with leaders that outlive their lock on members' confirmations. The checker allows a writer whose lock
/// expired only while no other node holds the lock; planted bugs in the confirmation round prove it notices.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class FailsafeSimulationTests
{
    [TestCase(3, 300)]
    [TestCase(2, 150)]
    public void FaultySeedsNeverHaveTwoWriters(int nodes, int seeds)
    {
        var violations = new ConcurrentBag<string>();
        var exercised = 0;
        Parallel.For(1, seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { Nodes = nodes, FailsafeMode = true }).Run();
            if (result.WritesWithoutLock > TimeSpan.Zero) Interlocked.Increment(ref exercised);
            if (result.Violation is not null)
                violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed} --nodes {nodes} --failsafe");
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(exercised, Is.GreaterThan(seeds / 5), "leaders must actually run on failsafe confirmations in many seeds, or the run proves nothing");
        }
    }

    [Test]
    public void CatchesAFenceExtendedWithoutEveryConfirmation()
    {
        // Planted: a round counts members that refused or never answered as confirmed.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { FailsafeMode = true, BrokenFailsafeConfirmation = true }, maxSeeds: 400);
        Assert.That(violation, Does.Contain("accepts writes but the DCS lock is held by").Or.Contain("two nodes accept writes"));
    }

    [Test]
    public void CatchesReplicasThatForgetTheirPromise()
    {
        // Planted: members answer Accepted but race and promote as if they had not.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions { FailsafeMode = true, ForgetfulFailsafeReplicas = true }, maxSeeds: 400);
        Assert.That(violation, Does.Contain("accepts writes but the DCS lock is held by").Or.Contain("two nodes accept writes"));
    }

}
