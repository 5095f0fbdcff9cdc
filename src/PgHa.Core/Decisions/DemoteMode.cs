namespace PgHa.Decisions;

/// <summary>How a primary steps down (Patroni's demote modes).</summary>
public enum DemoteMode
{
    /// <summary>DCS unreachable: fast stop, keep the lock key (it expires by itself), restart as a replica without upstream.</summary>
    Offline,
    /// <summary>Switchover: fast stop with shutdown checkpoint, release the lock once stopped, then follow the new leader.</summary>
    Graceful,
    /// <summary>Crash/start-timeout failover: immediate stop, release the lock.</summary>
    Immediate,
    /// <summary>Lost the lock: immediate stop, the lock is not ours to release.</summary>
    ImmediateNoLock,
}
