using PgHa.Decisions;

namespace PgHa.Simulation;

/// <summary>How one simulation run is set up. Planted faults exist to prove the checker has teeth.</summary>
public sealed record SimulationOptions
{
    /// <summary>Number of nodes.</summary>
    public int Nodes { get; init; } = 3;
    /// <summary>Minimum HA cycles (summed over nodes) per run.</summary>
    public int MinCycles { get; init; } = 200;
    /// <summary>Inject faults.</summary>
    public bool Faults { get; init; } = true;
    /// <summary>Fence safety margin of every node.</summary>
    public TimeSpan FenceSafetyMargin { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Record a trace (decisions, faults, DCS view) for replay output.</summary>
    public bool Trace { get; init; }
    /// <summary>Planted: rewrite every plan (a broken engine rule).</summary>
    public Func<HaPlan, HaPlan>? PlanFilter { get; init; }
    /// <summary>
    /// <c>synchronous_mode</c> on: commits are acknowledged only once the standbys named in synchronous_standby_names
    /// have them, and the checker adds the invariant "no acknowledged write is lost by a promotion".
    /// </summary>
    public bool SynchronousMode { get; init; }
    /// <summary><c>synchronous_mode_strict</c> (with <see cref="SynchronousMode"/>).</summary>
    public bool SynchronousModeStrict { get; init; }
    /// <summary>
    /// Every node has a <c>pre_promote</c>, and among the faults a node's pre_promote refuses (exit 1) for a while; the
    /// checker adds the invariant "a node is promoted only right after its pre_promote succeeded". Drawn from a random
    /// source of its own, so the other faults of a seed stay as they are without it.
    /// </summary>
    public bool PrePromoteFaults { get; init; }
    /// <summary>
    /// The last node has <c>watchdog.mode: required</c> and a device path that is no watchdog (a regular file): the
    /// checker adds the invariant "that node never holds the lock nor accepts writes".
    /// </summary>
    public bool RequiredWatchdogUnusable { get; init; }
    /// <summary>Planted: the node of <see cref="RequiredWatchdogUnusable"/> runs with the watchdog off while the checker expects it required.</summary>
    public bool EngineIgnoresWatchdog { get; init; }
    /// <summary>
    /// <c>failsafe_mode</c> on: a leader cut off from the DCS keeps writing while every member confirms it. The checker
    /// then allows a writer whose lock expired as long as no other node took the lock meanwhile; two writers, or a writer
    /// while another node holds the lock, stay violations.
    /// </summary>
    public bool FailsafeMode { get; init; }
    /// <summary>Planted: a failsafe confirmation round counts every member as confirmed, answered or not.</summary>
    public bool BrokenFailsafeConfirmation { get; init; }
    /// <summary>Planted: replicas accept <c>POST /failsafe</c> but forget the promise (they race and promote at once).</summary>
    public bool ForgetfulFailsafeReplicas { get; init; }
    /// <summary>
    /// Run as a standby cluster (<c>standby_cluster</c> in the dynamic configuration) of a simulated remote primary,
    /// with remote faults on top of the usual ones (remote outage, node↔remote partition, remote timeline switch). After
    /// a first fault phase and a heal, the cluster must settle with one standby leader following the remote and every
    /// other member following a member; during the second fault phase the operator removes the section, so the standby
    /// leader is promoted. The checker adds: no member accepts writes while the section is set; no member other than
    /// the lock holder keeps following the remote while its agent and the DCS work; the promotion out of the standby
    /// cluster keeps the usual lag bound. Not combinable with synchronous or failsafe mode, nor with slots.
    /// </summary>
    public bool StandbyCluster { get; init; }
    /// <summary>
    /// Replication slots and WAL retention modelled (<see cref="SimSlotModel"/>): use_slots with one or two permanent
    /// physical slots and an <c>ignore_slots</c> rule, some nodes cascading; standbys stream only through their member
    /// slot and only while the upstream has the WAL they need; the checker adds the slot invariants.
    /// </summary>
    public bool Slots { get; init; }
    /// <summary>Planted: rewrites every slot plan as it reaches the server's PostgreSQL (a broken slot rule).</summary>
    public Func<ReplicationSlotPlan, SimPostgresServer, ReplicationSlotPlan>? SlotPlanFilter { get; init; }
    /// <summary>Planted: the write fence does nothing.</summary>
    public bool BrokenFence { get; init; }
    /// <summary>Planted: the DCS lets a node acquire a lock that is still held (promotion without waiting for expiry).</summary>
    public bool BrokenAcquire { get; init; }
    /// <summary>Planted: the engine runs with synchronous_mode off while the checker expects synchronous mode's guarantee.</summary>
    public bool EngineIgnoresSynchronousMode { get; init; }
    /// <summary>Planted: the engine is told this maximum_lag_on_failover while the checker keeps the real one.</summary>
    public long? EngineMaximumLagOverride { get; init; }
}
