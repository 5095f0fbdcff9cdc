using PgHa.Decisions;
using PgHa.Watchdog;

namespace PgHa.Loop;

/// <summary>The executor's side of the watchdog: arm and keep alive after each confirmed lock, disarm when not leading.</summary>
public sealed partial class HaLoop
{
    private DateTimeOffset? _watchdogFiresAt;

    /// <summary>
    /// The node's watchdog (<c>watchdog</c> section), or null for none (as <c>mode: off</c>). The loop arms and keeps it
    /// alive after every confirmed acquire or renewal of the lock and disarms it when the node demotes, releases the
    /// lock, is paused or has no running PostgreSQL.
    /// </summary>
    public LeaderWatchdog? Watchdog { get; init; }

    /// <summary>True when <c>mode: required</c> and the watchdog cannot be used with the current timing (REST <c>watchdog_failed</c>).</summary>
    public bool WatchdogFailed => Watchdog is { } w && !w.IsHealthy(Settings.Ttl, Settings.LoopWait);

    /// <summary>The decider's view of the watchdog.</summary>
    private LocalNodeState WithWatchdog(LocalNodeState local, HaSettings settings)
    {
        if (Watchdog is not { } w) return local;
        DateTimeOffset? firesAt;
        lock (_gate) firesAt = _watchdogFiresAt;
        return local with { WatchdogHealthy = w.IsHealthy(settings.Ttl, settings.LoopWait), WatchdogFiresAt = w.IsRunning ? firesAt : null };
    }

    /// <summary>
    /// After a confirmed acquire or renewal, sent at <paramref name="sentAt"/>: arm and keep the watchdog alive. False when
    /// the watchdog is required and could not be armed: the lock must then be treated as not confirmed.
    /// </summary>
    private bool WatchdogKeptAlive(HaSettings settings, DateTimeOffset sentAt)
    {
        if (Watchdog is not { } w) return true;
        // In maintenance mode nothing is automatic, so nothing may reset the machine either (Patroni disables it).
        if (settings.Pause)
        {
            w.Disable();
            return true;
        }
        if (!w.KeepAlive(settings.Ttl, settings.LoopWait)) return false;
        // Counted from the request's send time, like the lock's validity: conservative for the decider.
        var firesAt = w.ActiveTimeout is { } seconds ? sentAt + TimeSpan.FromSeconds(seconds) : (DateTimeOffset?)null;
        lock (_gate) _watchdogFiresAt = firesAt;
        return true;
    }

    /// <summary>
    /// At the end of a cycle: disarm unless this node still leads with a running (or starting) PostgreSQL. A demotion
    /// under way keeps it armed (not kept alive): it disarms at its safepoint, once PostgreSQL has stopped.
    /// </summary>
    private void DisarmWatchdogUnlessLeading(PostgresStatus pg, HaSettings settings)
    {
        if (Watchdog is not { IsRunning: true }) return;
        var memory = Memory;
        var leading = memory.HeldLock is not null && (pg.IsRunning || memory.Busy is not null);
        var demoting = memory.Busy?.Kind == BusyActionKind.Demote;
        if (settings.Pause || !(leading || demoting)) DisarmWatchdog();
    }

    private void DisarmWatchdog()
    {
        Watchdog?.Disable();
        lock (_gate) _watchdogFiresAt = null;
    }
}
