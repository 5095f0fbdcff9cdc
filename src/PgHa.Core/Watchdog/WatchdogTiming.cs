namespace PgHa.Watchdog;

/// <summary>
/// Patroni's watchdog timing: the device fires <c>ttl − safety_margin</c> seconds after the last keepalive (<c>ttl/2</c>
/// for a margin of −1), so a leader that stops renewing its lock is reset before the lock can expire; and that timeout
/// must leave room for one <c>loop_wait</c> (the slack), or a healthy leader would be reset between two renewals.
/// </summary>
public static class WatchdogTiming
{
    /// <summary>The timeout in whole seconds (what the device is given) for this ttl and safety margin.</summary>
    public static int TimeoutSeconds(TimeSpan ttl, int safetyMargin)
    {
        var ttlSeconds = (int)ttl.TotalSeconds;
        return safetyMargin == -1 ? ttlSeconds / 2 : ttlSeconds - safetyMargin;
    }

    /// <summary>Timeout minus loop_wait: negative means the watchdog would fire on a healthy leader, so it cannot be used.</summary>
    public static TimeSpan Slack(int timeoutSeconds, TimeSpan loopWait) => TimeSpan.FromSeconds(timeoutSeconds) - loopWait;
}
