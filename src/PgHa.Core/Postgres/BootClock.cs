using System.Globalization;

namespace PgHa.Postgres;

/// <summary>
/// CLOCK_BOOTTIME as Linux publishes it in <c>/proc/uptime</c> (10 ms resolution): the one clock the agent and the
/// bash fencer both read without a fork or P/Invoke. It is monotonic (NTP never steps it, unlike the wall clock) and,
/// unlike CLOCK_MONOTONIC, keeps counting while the machine or VM is suspended — the DCS keeps expiring the lock
/// meanwhile, so a fence on CLOCK_MONOTONIC would fire late after a resume, while this one fires at once.
/// </summary>
internal static class BootClock
{
    /// <summary>Centiseconds since boot.</summary>
    public static long NowCentiseconds()
    {
        var text = File.ReadAllText("/proc/uptime");
        var first = text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal));
        var dot = first.IndexOf('.');
        if (dot < 0 || first.Length - dot != 3) throw new InvalidOperationException($"unexpected /proc/uptime format: '{text.Trim()}'");
        return long.Parse(first[..dot], NumberStyles.None, CultureInfo.InvariantCulture) * 100
            + long.Parse(first[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
