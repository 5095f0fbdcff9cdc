namespace PgHa.Simulation;

/// <summary>Outcome of one seed.</summary>
/// <param name="Seed">The seed (replays the run exactly).</param>
/// <param name="Cycles">HA cycles run, summed over nodes.</param>
/// <param name="Events">Scheduler events executed.</param>
/// <param name="Violation">The first invariant violation, or null.</param>
/// <param name="Trace">The trace up to the violation (when tracing was on).</param>
/// <param name="HealTime">Time from the end of faults until exactly one leader held the lock and accepted writes.</param>
/// <param name="Settings">ttl/loop_wait/retry_timeout of the run.</param>
/// <param name="FenceTrips">How often a write fence stopped a primary.</param>
/// <param name="Failovers">Promotions after the initial bootstrap.</param>
public sealed record SimulationResult(int Seed, long Cycles, long Events, string? Violation, IReadOnlyList<string> Trace, TimeSpan HealTime, string Settings, int FenceTrips, int Failovers)
{
    /// <summary>How often a pre_promote refused (with <see cref="SimulationOptions.PrePromoteFaults"/>).</summary>
    public int PrePromoteRefusals { get; init; }
    /// <summary>Failsafe mode: how long (virtual time) a primary accepted writes while the DCS lock was free.</summary>
    public TimeSpan WritesWithoutLock { get; init; }
    /// <summary>Standby cluster: how often the lock moved to another standby leader while standby_cluster was set.</summary>
    public int StandbyLeaderChanges { get; init; }
    /// <summary>Standby cluster: a member was promoted after standby_cluster was removed.</summary>
    public bool PromotedOutOfStandby { get; init; }
    /// <summary>Standby cluster: standby_cluster was removed while faults were still being injected (not only after the heal).</summary>
    public bool SectionRemovedUnderFaults { get; init; }
    /// <summary>With <see cref="SimulationOptions.Slots"/>: slot invariant checks whose condition held long enough to apply.</summary>
    public long SlotChecks { get; init; }
    /// <summary>With <see cref="SimulationOptions.Slots"/>: how often a standby found WAL it needed recycled on its upstream.</summary>
    public int WalLost { get; init; }
}
