using Microsoft.Extensions.Logging;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Testing;
using PgHa.Watchdog;

namespace PgHa.Simulation;

/// <summary>One simulated machine: a PostgreSQL server that outlives agent incarnations, and the current agent (the real <see cref="HaLoop"/>).</summary>
public sealed class SimNode
{
    private readonly SimulationRun _run;
    private CancellationTokenSource? _agentCts;

    internal SimNode(SimulationRun run, int index, string name, MemberTags tags)
    {
        _run = run;
        Index = index;
        Name = name;
        Tags = tags;
        Server = new SimPostgresServer(run.Scheduler, name);
    }

    /// <summary>Position in the run.</summary>
    public int Index { get; }
    /// <summary>Member name.</summary>
    public string Name { get; }
    /// <summary>Tags.</summary>
    public MemberTags Tags { get; }
    /// <summary>The PostgreSQL server.</summary>
    public SimPostgresServer Server { get; }
    /// <summary>The machine's watchdog device (it outlives agent incarnations), or null for none.</summary>
    public FakeWatchdogDevice? WatchdogDevice { get; init; }
    /// <summary>The <c>watchdog.mode</c> the agent runs with.</summary>
    public WatchdogMode WatchdogMode { get; init; } = WatchdogMode.Off;
    /// <summary>The running agent, or null while it is dead.</summary>
    public HaLoop? Agent { get; private set; }
    /// <summary>The agent's actor (stop/kill switch).</summary>
    public SimActor? Actor { get; private set; }
    /// <summary>Cycles run by every incarnation so far.</summary>
    public long Cycles => _previousCycles + (Agent?.CycleCount ?? 0);
    /// <summary>Cycles that failed with an exception, over every incarnation.</summary>
    public long FailedCycles => _previousFailures + (Agent?.FailedCycles ?? 0);
    private long _previousCycles;
    private long _previousFailures;

    /// <summary>Fault: this node's pre_promote exits 1 (only with <see cref="SimulationOptions.PrePromoteFaults"/>).</summary>
    public bool PrePromoteRefuses { get; set; }
    /// <summary>Verdict of this node's last pre_promote (null before the first).</summary>
    public bool? LastPrePromoteSucceeded { get; set; }
    /// <summary>How often this node's pre_promote refused.</summary>
    public int PrePromoteRefusals { get; set; }

    /// <summary>The agent answers REST requests (alive and not stopped).</summary>
    public bool AgentAnswers => Actor is { Dead: false } a && a.StalledUntilTicks <= _run.Scheduler.NowTicks;

    /// <summary>Starts a fresh agent incarnation.</summary>
    public void StartAgent()
    {
        if (Agent is not null) return;
        var actor = new SimActor(Name);
        var time = new SimTimeProvider(_run.Scheduler, actor);
        var dcs = new SimDcsClient(_run.Scheduler, actor, new InMemoryDcs(_run.Store, SimulationRun.Namespace, SimulationRun.Scope, Name), _run.Network, Index, _run.Options.BrokenAcquire);
        var pg = new SimPostgresControl(_run.Scheduler, actor, Server, _run.ServerOf, _run.NewSystemId);
        pg.Promoted += _run.OnPromoted;
        pg.ReplicationOf = _run.ReplicationOf;
        pg.Remote = _run.Remote;
        pg.NodeIndex = Index;
        if (_run.SlotModel is { } slots) pg.SyncSlots = slots.Sync;
        var peers = new SimPeerClient(_run.Scheduler, actor, _run.Network, Index, _run.NodeOf) { AcceptAll = _run.Options.BrokenFailsafeConfirmation, ForgetPromises = _run.Options.ForgetfulFailsafeReplicas };
        var options = new HaNodeOptions
        {
            Identity = new NodeIdentity(Name, $"postgres://10.0.0.{Index + 1}:5432/postgres", $"http://10.0.0.{Index + 1}:8008/patroni"),
            Tags = Tags,
            BootstrapConfig = _run.Config,
            FenceSafetyMargin = _run.Options.FenceSafetyMargin,
        };
        ILogger<HaLoop>? logger = _run.Trace is null ? null : new TraceLogger(_run, Name);
        var callbacks = _run.Options.PrePromoteFaults ? new SimCallbacks(_run.Scheduler, actor, this, _run.Record) : null;
        var watchdog = WatchdogDevice is null ? null : new LeaderWatchdog(new WatchdogOptions { Mode = WatchdogMode, SafetyMargin = -1 }, WatchdogDevice);
        var loop = new HaLoop(dcs, pg, peers, options, time, logger, callbacks) { PlanFilter = _run.Options.PlanFilter, Watchdog = watchdog };
        Actor = actor;
        Agent = loop;
        _agentCts = new CancellationTokenSource();
        var ct = _agentCts.Token;
        _run.Scheduler.After(TimeSpan.Zero, actor, () => _ = RunAgent(loop, ct));
    }

    private async Task RunAgent(HaLoop loop, CancellationToken ct)
    {
        try { await loop.RunAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception ex)
        {
            // The loop must never die of an exception: that is a bug, not a fault to tolerate.
            _run.AgentCrashed(Name, ex);
        }
    }

    /// <summary>kill -9 of the agent: its pending work is dropped; PostgreSQL keeps running.</summary>
    public void KillAgent()
    {
        if (Agent is null) return;
        _previousCycles += Agent.CycleCount;
        _previousFailures += Agent.FailedCycles;
        Actor!.Dead = true;
        Agent = null;
        _agentCts = null;
    }

    /// <summary>SIGSTOP of the agent for a while.</summary>
    public void StallAgent(TimeSpan duration)
    {
        if (Actor is { Dead: false } a) a.StalledUntilTicks = Math.Max(a.StalledUntilTicks, _run.Scheduler.NowTicks + duration.Ticks);
    }

    /// <summary>kill -9 of the postmaster.</summary>
    public void CrashPostgres() => Server.Running = false;

    private sealed class TraceLogger(SimulationRun run, string name) : ILogger<HaLoop>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            run.Record(name, exception is null ? formatter(state, null) : $"{formatter(state, exception)}: {exception}");
    }
}
