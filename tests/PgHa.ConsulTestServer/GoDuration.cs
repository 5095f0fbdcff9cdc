using System.Globalization;
using System.Text;

namespace PgHa.ConsulTestServer;

/// <summary>
/// Consul's duration strings (Go's <c>time.ParseDuration</c> syntax): a sequence of decimal numbers with units
/// <c>ns</c>, <c>us</c>/<c>µs</c>, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, such as <c>15s</c>, <c>15.0s</c>,
/// <c>0.001s</c>, <c>1m30s</c>; a bare <c>0</c> is zero.
/// </summary>
public static class GoDuration
{
    /// <summary>Parses <paramref name="text"/>; false (with nothing parsed) when it is not a Go duration.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text)) return false;
        var s = text.AsSpan();
        var negative = false;
        if (s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s is "0") return true;
        if (s.IsEmpty) return false;
        decimal totalNs = 0;
        while (!s.IsEmpty)
        {
            var numberEnd = 0;
            while (numberEnd < s.Length && (char.IsAsciiDigit(s[numberEnd]) || s[numberEnd] == '.')) numberEnd++;
            if (numberEnd == 0) return false;
            if (!decimal.TryParse(s[..numberEnd], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)) return false;
            s = s[numberEnd..];
            var unitEnd = 0;
            while (unitEnd < s.Length && !char.IsAsciiDigit(s[unitEnd]) && s[unitEnd] != '.') unitEnd++;
            decimal nsPerUnit = s[..unitEnd] switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => -1m,
            };
            if (nsPerUnit < 0) return false;
            totalNs += number * nsPerUnit;
            s = s[unitEnd..];
        }
        var ticks = totalNs / 100m;
        if (ticks > TimeSpan.MaxValue.Ticks) return false;
        duration = TimeSpan.FromTicks((long)ticks);
        if (negative) duration = -duration;
        return true;
    }

    /// <summary>Formats like Go's <c>Duration.String()</c> for whole seconds and above (<c>10s</c>, <c>24h0m0s</c>), <c>ms</c> below a second.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero) return "0s";
        if (duration < TimeSpan.FromSeconds(1))
            return duration.TotalMilliseconds.ToString("0.######", CultureInfo.InvariantCulture) + "ms";
        var text = new StringBuilder();
        var hours = (long)duration.TotalHours;
        if (hours > 0) text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        if (hours > 0 || duration.Minutes > 0) text.Append(CultureInfo.InvariantCulture, $"{duration.Minutes}m");
        var seconds = duration.TotalSeconds - hours * 3600 - duration.Minutes * 60;
        text.Append(seconds.ToString("0.#########", CultureInfo.InvariantCulture)).Append('s');
        return text.ToString();
    }
}
