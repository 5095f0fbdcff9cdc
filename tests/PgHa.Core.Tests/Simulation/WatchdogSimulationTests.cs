using System.Collections.Concurrent;
using NUnit.Framework;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// <c>watchdog.mode: required</c> through the deterministic simulator: one node's watchdog device is a regular file,
/// and under every fault that node must never hold the lock nor accept writes while the others keep the cluster led.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class WatchdogSimulationTests
{
    [Test]
    public void ANodeWithARequiredButUnusableWatchdogNeverLeads()
    {
        const int seeds = 400;
        var violations = new ConcurrentBag<string>();
        var failovers = 0L;
        Parallel.For(1, seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { RequiredWatchdogUnusable = true }).Run();
            Interlocked.Add(ref failovers, result.Failovers);
            if (result.Violation is not null) violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed}");
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(failovers, Is.GreaterThan(seeds / 2), "the faults must actually cause failovers, or the run proves nothing");
        }
    }

    [Test]
    public void CatchesAnEngineThatIgnoresTheRequiredWatchdog()
    {
        string? violation = null;
        for (var seed = 1; seed <= 200 && violation is null; seed++)
            violation = new SimulationRun(seed, new SimulationOptions { RequiredWatchdogUnusable = true, EngineIgnoresWatchdog = true }).Run().Violation;
        Assert.That(violation, Does.Contain("although its required watchdog is unusable"));
    }
}
