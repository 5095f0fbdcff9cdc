using System.Collections.Immutable;
using System.Globalization;

namespace PgHa.Host.Configuration;

/// <summary>
/// A <c>host:port</c> setting, split as Patroni's <c>split_host_port</c> does (at the last colon; IPv6 hosts may be
/// bracketed). <see cref="Host"/> is a comma-separated list for <c>postgresql.listen</c>.
/// </summary>
/// <param name="Host">Host name or address (brackets removed), or a comma-separated list of them.</param>
/// <param name="Port">TCP port, 1–65535.</param>
public sealed record HostPort(string Host, int Port)
{
    /// <summary>The hosts of a comma-separated <see cref="Host"/>.</summary>
    public ImmutableArray<string> Hosts => [.. Host.Split(',').Select(h => h.Trim())];

    /// <summary><c>host:port</c>, with an IPv6 host in brackets (<c>[::1]:5432</c>), as Patroni builds URLs.</summary>
    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) && !Host.Contains(',', StringComparison.Ordinal) ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}" : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Parses <c>host:port</c>; without a colon <paramref name="defaultPort"/> applies, or the text is invalid. With
    /// <paramref name="anyHost"/> an empty host (<c>:8008</c>, which Python binds to every IPv4 address) reads as <c>0.0.0.0</c>.
    /// </summary>
    public static HostPort? TryParse(string text, bool multipleHosts = false, int? defaultPort = null, bool anyHost = false)
    {
        text = text.Trim();
        var colon = text.LastIndexOf(':');
        string hostPart;
        int port;
        if (colon < 0 || (text.EndsWith(']') && text.StartsWith('[')))
        {
            if (defaultPort is null) return null;
            hostPart = text;
            port = defaultPort.Value;
        }
        else
        {
            hostPart = text[..colon];
            var portText = text[(colon + 1)..];
            if (portText.Length == 0 || !portText.All(char.IsAsciiDigit) || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                return null;
        }
        if (anyHost && hostPart.Length == 0) hostPart = "0.0.0.0";
        var hosts = hostPart.Split(',').Select(h => h.Trim()).ToList();
        if (!multipleHosts && hosts.Count > 1) return null;
        for (var i = 0; i < hosts.Count; i++)
        {
            var h = hosts[i];
            if (h.StartsWith('[') && h.EndsWith(']')) h = h[1..^1];
            if (h.Length == 0 || h.Any(c => char.IsWhiteSpace(c) || c is '/' or '[' or ']' or '@' or '?' or '#')) return null;
            hosts[i] = h;
        }
        return new HostPort(string.Join(",", hosts), port);
    }
}
