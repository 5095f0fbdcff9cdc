namespace PgHa.Host.Configuration;

/// <summary><c>watchdog.mode</c>.</summary>
public enum WatchdogMode
{
    /// <summary><c>off</c> (also <c>false</c>, <c>disable</c>, <c>disabled</c>).</summary>
    Off,
    /// <summary><c>automatic</c> (default; also <c>auto</c>): used when available.</summary>
    Automatic,
    /// <summary><c>required</c> (also <c>require</c>): a node without a working watchdog may not lead.</summary>
    Required,
}

/// <summary>The <c>watchdog</c> section.</summary>
public sealed record WatchdogConfig
{
    /// <summary><c>mode</c> (default automatic).</summary>
    public WatchdogMode Mode { get; init; } = WatchdogMode.Automatic;
    /// <summary><c>device</c> (default <c>/dev/watchdog</c>).</summary>
    public string Device { get; init; } = "/dev/watchdog";
    /// <summary><c>safety_margin</c> in seconds (default 5; -1 means timeout = ttl/2).</summary>
    public int SafetyMargin { get; init; } = 5;
    /// <summary><c>driver</c> (default <c>default</c>).</summary>
    public string Driver { get; init; } = "default";
}

/// <summary>The <c>log</c> section.</summary>
public sealed record LogConfig
{
    /// <summary><c>type</c>: plain (default) or json.</summary>
    public string Type { get; init; } = "plain";
    /// <summary><c>level</c> (default INFO): DEBUG, INFO, WARNING, ERROR, CRITICAL.</summary>
    public string Level { get; init; } = "INFO";
    /// <summary><c>traceback_level</c> (default ERROR).</summary>
    public string TracebackLevel { get; init; } = "ERROR";
    /// <summary><c>format</c>: Python logging format.</summary>
    public string Format { get; init; } = "%(asctime)s %(levelname)s: %(message)s";
    /// <summary><c>dateformat</c>.</summary>
    public string? DateFormat { get; init; }
    /// <summary><c>max_queue_size</c> (default 1000).</summary>
    public int MaxQueueSize { get; init; } = 1000;
    /// <summary><c>dir</c>: log to files in this directory instead of stderr.</summary>
    public string? Dir { get; init; }
    /// <summary><c>file_num</c> (default 4): rotated files kept.</summary>
    public int FileNum { get; init; } = 4;
    /// <summary><c>file_size</c> in bytes (default 25000000).</summary>
    public long FileSize { get; init; } = 25000000;
    /// <summary><c>loggers</c>: logger name → level.</summary>
    public OrderedMap<string> Loggers { get; init; } = OrderedMap<string>.Empty;
}

/// <summary>The <c>pgha</c> section: settings PgHa has and Patroni does not (Patroni ignores the section).</summary>
public sealed record PgHaSettings
{
    /// <summary>
    /// <c>fence_safety_margin</c> in seconds (default 1): the write fence stops PostgreSQL this long before the lock's
    /// guaranteed validity ends. At least 0 and less than ttl − loop_wait.
    /// </summary>
    public TimeSpan FenceSafetyMargin { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary><c>peer_status_timeout</c> in seconds (default 2, as Patroni): one peer status request in the leader race.</summary>
    public TimeSpan PeerStatusTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary><c>can_bootstrap</c> (default true): false makes this node wait for another node to create the cluster.</summary>
    public bool CanBootstrap { get; init; } = true;
}
