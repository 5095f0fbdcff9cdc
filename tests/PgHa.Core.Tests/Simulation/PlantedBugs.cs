using NUnit.Framework;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>How the simulation tests prove a checker notices: a planted bug must show up as a violation.</summary>
internal static class PlantedBugs
{
    /// <summary>
    /// The violation of the lowest seed in 1..<paramref name="maxSeeds"/> that has one; fails the test when none has.
    /// The lowest, not the first to finish: seeds run in parallel, and which violation a planted bug shows first can
    /// differ between seeds, so the answer must not depend on scheduling. With <paramref name="containing"/>, the lowest
    /// seed whose violation contains that text: the bug must be caught by that very invariant.
    /// </summary>
    public static string FirstViolation(SimulationOptions options, int maxSeeds, string? containing = null)
    {
        var found = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        Parallel.For(1, maxSeeds + 1, (seed, state) =>
        {
            var result = new SimulationRun(seed, options).Run();
            if (result.Violation is not null && (containing is null || result.Violation.Contains(containing, StringComparison.Ordinal)))
            {
                found[seed] = result.Violation;
                state.Break(); // every lower seed still runs
            }
        });
        Assert.That(found, Is.Not.Empty, $"the planted bug went unnoticed{(containing is null ? "" : $" by '{containing}'")} in {maxSeeds} seeds");
        var lowest = found.Keys.Min();
        TestContext.Out.WriteLine($"seed {lowest}: {found[lowest]}");
        return found[lowest];
    }
}
