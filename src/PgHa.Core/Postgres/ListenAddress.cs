using System.Globalization;

namespace PgHa.Postgres;

/// <summary>Patroni's <c>listen</c> / <c>connect_address</c> value: <c>host[,host…]:port</c>.</summary>
/// <param name="Hosts">The <c>listen_addresses</c> part, as written (may be <c>*</c> or a list).</param>
/// <param name="Port">The port.</param>
internal sealed record ListenAddress(string Hosts, int Port)
{
    /// <summary>Parses <c>host[,host…]:port</c>; IPv6 hosts in brackets (<c>[::1]:5432</c>).</summary>
    public static bool TryParse(string? value, out ListenAddress address)
    {
        address = new ListenAddress("", 0);
        if (string.IsNullOrWhiteSpace(value)) return false;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1) return false;
        if (!int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535) return false;
        var hosts = value[..colon].Trim();
        if (hosts.StartsWith('[') && hosts.EndsWith(']')) hosts = hosts[1..^1];
        if (hosts.Length == 0) return false;
        address = new ListenAddress(hosts, port);
        return true;
    }

    /// <summary>A host the agent itself can connect to: the first listed one, loopback for a wildcard.</summary>
    public string LocalConnectHost
    {
        get
        {
            var first = Hosts.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "*";
            return first switch { "*" or "0.0.0.0" => "127.0.0.1", "::" => "::1", _ => first };
        }
    }
}
