namespace PgHa.Simulation;

/// <summary>
/// Discrete-event scheduler on virtual time. Everything in a simulation run (timers, DCS replies, PostgreSQL actions,
/// continuations) executes here, on one thread, in (time, sequence) order, so a seed always replays identically.
/// </summary>
public sealed class SimScheduler
{
    private readonly PriorityQueue<SimEvent, (long Ticks, long Seq)> _queue = new();
    private long _seq;
    private int _thread;

    /// <summary>Virtual start of every run (an arbitrary fixed instant).</summary>
    public static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Current virtual time in ticks since <see cref="Epoch"/>.</summary>
    public long NowTicks { get; private set; }

    /// <summary>Current virtual time.</summary>
    public DateTimeOffset Now => Epoch.AddTicks(NowTicks);

    /// <summary>Number of events executed.</summary>
    public long EventsRun { get; private set; }

    /// <summary>Set when code tried to schedule work from another thread: the run is no longer reproducible.</summary>
    public string? DeterminismBreach { get; private set; }

    /// <summary>Called after every event (invariant checks).</summary>
    public Action? AfterEvent { get; set; }

    /// <summary>Schedules <paramref name="action"/> at <paramref name="atTicks"/> for <paramref name="owner"/> (null: no owner, never stalled).</summary>
    public void At(long atTicks, SimActor? owner, Action action)
    {
        // Everything must happen on the run's thread; work arriving from elsewhere would make the run irreproducible.
        if (_thread != 0 && Environment.CurrentManagedThreadId != _thread)
        {
            // Not thrown: the culprit is usually a continuation nobody observes. Recorded, and the run fails on it.
            DeterminismBreach ??= $"an event was scheduled from a foreign thread (some code left the simulation thread):{Environment.NewLine}{Environment.StackTrace}";
            return;
        }
        if (atTicks < NowTicks) atTicks = NowTicks;
        _queue.Enqueue(new SimEvent(owner, action), (atTicks, _seq++));
    }

    /// <summary>Schedules after a delay.</summary>
    public void After(TimeSpan delay, SimActor? owner, Action action) => At(NowTicks + Math.Max(0, delay.Ticks), owner, action);

    /// <summary>Runs events until virtual time reaches <paramref name="untilTicks"/> or nothing is left.</summary>
    public void RunUntil(long untilTicks)
    {
        _thread = Environment.CurrentManagedThreadId;
        // Continuations are inlined only where no custom SynchronizationContext is current (a test runner installs
        // one); otherwise they would be queued to the thread pool and leave the simulation thread.
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            RunEvents(untilTicks);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private void RunEvents(long untilTicks)
    {
        while (_queue.TryPeek(out var ev, out var key) && key.Ticks <= untilTicks)
        {
            _queue.Dequeue();
            NowTicks = key.Ticks;
            if (ev.Owner is { } owner)
            {
                if (owner.Dead) continue;
                if (owner.StalledUntilTicks > NowTicks)
                {
                    // A stopped process does nothing; its pending work resumes when it is continued.
                    if (owner.Deferred.Count == 0) At(owner.StalledUntilTicks, null, () => Resume(owner));
                    owner.Deferred.Add(ev.Action);
                    continue;
                }
            }
            EventsRun++;
            ev.Action();
            AfterEvent?.Invoke();
        }
        if (NowTicks < untilTicks) NowTicks = untilTicks;
    }

    /// <summary>SIGCONT: the actor runs again now; work it could not do while stopped is queued in order.</summary>
    public void Resume(SimActor actor)
    {
        if (actor.StalledUntilTicks > NowTicks)
        {
            // Stopped again for longer while stopped: continue it when that stop ends. (Without this, pending work
            // arriving during the longer stop found a resume already "scheduled" and the agent stayed stopped until
            // the run healed everything — found by the standby cluster checker.)
            At(actor.StalledUntilTicks, null, () => Resume(actor));
            return;
        }
        var deferred = actor.Deferred.ToArray();
        actor.Deferred.Clear();
        foreach (var action in deferred) At(NowTicks, actor, action);
    }

    private readonly record struct SimEvent(SimActor? Owner, Action Action);
}

/// <summary>Something that runs on the scheduler and can be stopped (SIGSTOP) or killed: an agent incarnation.</summary>
public sealed class SimActor(string name)
{
    /// <summary>For traces.</summary>
    public string Name { get; } = name;
    /// <summary>Killed: its pending events are dropped.</summary>
    public bool Dead { get; set; }
    /// <summary>Stopped until this virtual time.</summary>
    public long StalledUntilTicks { get; set; }
    /// <summary>Work that arrived while stopped, in arrival order.</summary>
    internal List<Action> Deferred { get; } = [];
}
