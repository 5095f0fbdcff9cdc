using System.Collections.Concurrent;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Simulation;

namespace PgHa.Core.Tests.Simulation;

/// <summary>
/// Replication slots through the deterministic simulator: the simulated PostgreSQL keeps the slots the agents' plans
/// ask for, recycles WAL no slot holds, and lets a standby stream only through its member slot and only while the
/// upstream has the WAL it needs. The checker requires permanent slots on a settled leader, member slots where the
/// cascading rules put them, no slot of a departed member on the leader, and no drop of a slot the leader must keep;
/// planted slot-rule bugs prove it notices each.
/// </summary>
[TestFixture]
[Category("Simulation")]
public sealed class SlotsSimulationTests
{
    [TestCase(3, 100)]
    [TestCase(5, 30)]
    public void FaultySeedsKeepEverySlotInvariant(int nodes, int seeds)
    {
        var violations = new ConcurrentBag<string>();
        long checks = 0, walLost = 0;
        Parallel.For(1, seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            var result = new SimulationRun(seed, new SimulationOptions { Nodes = nodes, Slots = true }).Run();
            Interlocked.Add(ref checks, result.SlotChecks);
            Interlocked.Add(ref walLost, result.WalLost);
            if (result.Violation is not null)
                violations.Add($"seed {seed} ({result.Settings}): {result.Violation} — replay with scripts/simulate --seed {seed} --nodes {nodes} --slots");
        });
        TestContext.Out.WriteLine($"{seeds} seeds: {checks} slot checks applied, {walLost} times a standby found its WAL recycled");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(violations, Is.Empty);
            Assert.That(checks, Is.GreaterThan(seeds * 100L), "the slot invariants must actually apply, or the run proves nothing");
        }
    }

    [Test]
    public void CatchesALeaderThatNeverCreatesPermanentSlots()
    {
        // Planted: the leader's plan keeps permanent slots when present but never creates them.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary ? Rewrite(plan, s => s.Name.StartsWith("perm_", StringComparison.Ordinal) ? s with { Create = false } : s) : plan,
        }, maxSeeds: 20);
        Assert.That(violation, Does.Contain("without the permanent slot"));
    }

    [Test]
    public void CatchesALeaderThatNeverCreatesMemberSlots()
    {
        // Planted: the leader's plan keeps member slots when present (copies from its replica days) but never creates one.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary ? Rewrite(plan, s => s.Name.StartsWith("node", StringComparison.Ordinal) ? s with { Create = false } : s) : plan,
        }, maxSeeds: 20);
        Assert.That(violation, Does.Contain("but").And.Contain("has no slot"));
    }

    [Test]
    public void CatchesAReplicaThatNeverCreatesTheSlotOfAMemberCascadingFromIt()
    {
        // Planted: a replica's plan keeps the slots of members cascading from it when present but never creates them.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary ? plan : Rewrite(plan, s => s.AdvanceTo is null ? s with { Create = false } : s),
        }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("but").And.Contain("has no slot"));
    }

    [Test]
    public void CatchesALeaderThatKeepsTheSlotsOfDepartedMembers()
    {
        // Planted: the leader never drops unknown slots.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary ? plan with { DropUnknown = false } : plan,
        }, maxSeeds: 200);
        Assert.That(violation, Does.Contain("keeps the inactive slot"));
    }

    [Test]
    public void CatchesALeaderThatDropsASlotIgnoreSlotsProtects()
    {
        // Planted: the leader's plan forgets the ignore_slots rules.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary ? plan with { Ignore = ReplicationSlotsConfig.None } : plan,
        }, maxSeeds: 20);
        Assert.That(violation, Does.Contain("that ignore_slots protects"));
    }

    [Test]
    public void CatchesALeaderThatDropsItsPermanentSlots()
    {
        // Planted: a promoted leader (past timeline 1) treats permanent slots as the bootstrap leader's business.
        var violation = PlantedBugs.FirstViolation(new SimulationOptions
        {
            Slots = true,
            SlotPlanFilter = (plan, server) => server.Role == PostgresRole.Primary && server.Timeline > 1 ? Rewrite(plan, s => s.Name.StartsWith("perm_", StringComparison.Ordinal) ? null : s) : plan,
        }, maxSeeds: 100);
        Assert.That(violation, Does.Contain("dropped the permanent slot"));
    }

    private static ReplicationSlotPlan Rewrite(ReplicationSlotPlan plan, Func<DesiredSlot, DesiredSlot?> change) =>
        plan with { Slots = [.. plan.Slots.Select(change).OfType<DesiredSlot>()] };

}
