using System.Diagnostics;
using System.Globalization;
using PgHa.Simulation;

// scripts/simulate: runs seeds in parallel and prints one summary line last.
var seeds = 1000;
var start = 1;
var nodes = 3;
int? single = null;
var trace = false;
var sync = false;
var strict = false;
var failsafe = false;
var standby = false;
var slots = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seeds": seeds = ParseInt(args, ++i, "--seeds"); break;
        case "--start": start = ParseInt(args, ++i, "--start"); break;
        case "--nodes": nodes = ParseInt(args, ++i, "--nodes"); break;
        case "--seed": single = ParseInt(args, ++i, "--seed"); trace = true; break;
        case "--trace": trace = true; break;
        case "--sync": sync = true; break;
        case "--strict": sync = true; strict = true; break;
        case "--failsafe": failsafe = true; break;
        case "--standby-cluster": standby = true; break;
        case "--slots": slots = true; break;
        case "-h" or "--help":
            Console.WriteLine("""
                Usage: simulate [--seeds N] [--start S] [--nodes K] [--seed S]
                  Runs the real PgHa HA loop and decision engine on K simulated nodes (default 3) against a simulated
                  DCS, network and PostgreSQL with seeded random faults, checking invariants after every event.
                  --seeds N   number of seeds to run (default 1000), starting at --start (default 1)
                  --seed S    run one seed and print its full trace (replay of a failure)
                  --sync      synchronous_mode on, checking that no acknowledged write is lost
                  --strict    synchronous_mode_strict too
                  --failsafe  failsafe_mode on: a leader cut off from the DCS keeps writing while every member confirms
                              it; a writer may outlive its lock only while no other node took the lock
                  --standby-cluster
                              run as a standby cluster of a simulated remote primary (remote outages, partitions,
                              timeline switches too); the operator removes standby_cluster during the second fault
                              phase; nobody may write before that, only the standby leader may follow the remote
                  --slots     replication slots and WAL retention modelled (use_slots, permanent slots, ignore_slots,
                              a cascading node); checks that leaders keep permanent and member slots and drop the
                              slots of departed members, and never drop a slot they must keep
                Last line: seeds=N cycles=C violations=V cycles_per_s=R
                """);
            return 0;
        default:
            Console.Error.WriteLine($"simulate: unknown argument '{args[i]}' (try --help)");
            return 2;
    }
}
if (nodes is < 2 or > 9) { Console.Error.WriteLine("simulate: --nodes must be between 2 and 9"); return 2; }
if (single is { } s) { start = s; seeds = 1; }
if (standby && (sync || failsafe || slots)) { Console.Error.WriteLine("simulate: --standby-cluster cannot be combined with --sync, --strict, --failsafe or --slots"); return 2; }

var options = new SimulationOptions { Nodes = nodes, Trace = trace, SynchronousMode = sync, SynchronousModeStrict = strict, FailsafeMode = failsafe, StandbyCluster = standby, Slots = slots };
var sw = Stopwatch.StartNew();
long cycles = 0, violations = 0, done = 0;
var maxHeal = TimeSpan.Zero;
long standbyLeaderChanges = 0, promotedOutOfStandby = 0, removedUnderFaults = 0;
long slotChecks = 0, walLost = 0;
var gate = new object();
Parallel.For(start, start + seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
{
    var result = new SimulationRun(seed, options).Run();
    lock (gate)
    {
        cycles += result.Cycles;
        slotChecks += result.SlotChecks;
        walLost += result.WalLost;
        done++;
        if (result.HealTime > maxHeal) maxHeal = result.HealTime;
        standbyLeaderChanges += result.StandbyLeaderChanges;
        if (result.PromotedOutOfStandby) promotedOutOfStandby++;
        if (result.SectionRemovedUnderFaults) removedUnderFaults++;
        if (result.Violation is not null)
        {
            violations++;
            Console.WriteLine($"VIOLATION seed={seed} {result.Settings}: {result.Violation}");
            Console.WriteLine($"  replay: scripts/simulate --seed {seed} --nodes {nodes}{(strict ? " --strict" : sync ? " --sync" : "")}{(failsafe ? " --failsafe" : "")}{(standby ? " --standby-cluster" : "")}{(slots ? " --slots" : "")}");
            if (trace) foreach (var line in result.Trace) Console.WriteLine("  " + line);
        }
        else if (trace)
        {
            foreach (var line in result.Trace) Console.WriteLine("  " + line);
        }
        if (done % 10000 == 0) Console.Error.WriteLine($"... {done} seeds, {violations} violations");
    }
});
var rate = cycles / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"max_heal_s={maxHeal.TotalSeconds:0.0}"));
if (standby) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"standby_leader_changes={standbyLeaderChanges} promoted_out_of_standby={promotedOutOfStandby} removed_under_faults={removedUnderFaults}"));
if (slots) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slot_checks={slotChecks} wal_lost={walLost}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeds={seeds} cycles={cycles} violations={violations} cycles_per_s={rate:0}"));
return violations == 0 ? 0 : 1;

static int ParseInt(string[] args, int i, string name)
{
    if (i < args.Length && int.TryParse(args[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        return v;
    Console.Error.WriteLine($"simulate: {name} needs a non-negative integer");
    Environment.Exit(2);
    return 0;
}
