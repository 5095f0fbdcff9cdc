namespace PgHa.Watchdog;

/// <summary>Patroni's <c>watchdog.mode</c>: whether a hardware or kernel watchdog guards this node while it leads.</summary>
public enum WatchdogMode
{
    /// <summary><c>off</c>: never opened.</summary>
    Off,
    /// <summary><c>automatic</c>: used when it can be activated with a safe timeout; the node leads without it otherwise.</summary>
    Automatic,
    /// <summary><c>required</c>: a node whose watchdog cannot be used never takes the lock, and a leader whose watchdog fails steps down.</summary>
    Required,
}
