using NUnit.Framework;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>How the simulation tests prove a checker notices: a planted bug must show up as a violation.</summary>
internal static class PlantedBugs
{
    /// <summary>The first violation among seeds 1..<paramref name="maxSeeds"/>; fails the test when there is none.</summary>
    public static string FirstViolation(SimulationOptions options, int maxSeeds)
    {
        string? found = null;
        Parallel.For(1, maxSeeds + 1, (seed, state) =>
        {
            var result = new SimulationRun(seed, options).Run();
            if (result.Violation is not null)
            {
                Interlocked.CompareExchange(ref found, result.Violation, null);
                state.Stop();
            }
        });
        Assert.That(found, Is.Not.Null, $"the planted bug went unnoticed in {maxSeeds} seeds");
        TestContext.Out.WriteLine(found);
        return found!;
    }
}
