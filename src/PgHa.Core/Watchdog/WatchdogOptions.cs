namespace PgHa.Watchdog;

/// <summary>The <c>watchdog</c> section as the loop uses it.</summary>
public sealed record WatchdogOptions
{
    /// <summary><c>mode</c> (default <see cref="WatchdogMode.Automatic"/>, as Patroni).</summary>
    public WatchdogMode Mode { get; init; } = WatchdogMode.Automatic;

    /// <summary><c>device</c> (default <c>/dev/watchdog</c>).</summary>
    public string Device { get; init; } = "/dev/watchdog";

    /// <summary>
    /// <c>safety_margin</c> in seconds (default 5): the watchdog fires this long before the leader lock could expire.
    /// −1 means a timeout of ttl/2.
    /// </summary>
    public int SafetyMargin { get; init; } = 5;
}
