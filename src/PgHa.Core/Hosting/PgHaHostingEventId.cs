namespace PgHa.Hosting;

/// <summary>Stable event ids of the embedding layer's log events (45xx, inside PgHa's 4xxx "host" range).</summary>
public static class PgHaHostingEventId
{
    /// <summary>The embedded node started its HA loop.</summary>
    public const int NodeStarting = 4501;
    /// <summary>The embedded node's role changed.</summary>
    public const int RoleChanged = 4502;
    /// <summary>A <see cref="IPgHaNode.RoleChanged"/> handler threw.</summary>
    public const int RoleChangedHandlerFailed = 4503;
    /// <summary>The embedded node stopped cleanly.</summary>
    public const int NodeStopped = 4504;
    /// <summary>Stopping the embedded node did not complete (PostgreSQL may still run, the lock may still be held).</summary>
    public const int ShutdownFailed = 4505;
}
