using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace PgHa.AspNetCore;

/// <summary>
/// Patroni's <c>check_access</c> for unsafe endpoints, in its order: the allowlist (403 <c>Access is denied</c>), a
/// client certificate when <c>verify_client</c> asks for one (403 <c>client certificate required</c>), then HTTP Basic
/// credentials (401 with <c>WWW-Authenticate</c>).
/// </summary>
public sealed class RestAccess
{
    private readonly RestApiSecurity? _config;
    private readonly IReadOnlyList<IPNetwork> _allowlist;
    private readonly byte[]? _expectedAuth;

    /// <summary>Builds the checks from the <c>restapi</c> section; host names in the allowlist are resolved once, here.</summary>
    public RestAccess(RestApiSecurity? config)
    {
        _config = config;
        _allowlist = config is null ? [] : config.Allowlist.SelectMany(Networks).ToList();
        if (config?.Authentication is { } auth)
            _expectedAuth = Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(auth.Username + ":" + auth.Password)));
    }

    /// <summary>
    /// Null when <paramref name="context"/> may use an unsafe endpoint; otherwise the status and reason to answer.
    /// <paramref name="memberApiHosts"/> are the hosts of the members' <c>api_url</c>s (for <c>allowlist_include_members</c>).
    /// </summary>
    public (int Status, string Reason)? Check(HttpContext context, IEnumerable<string> memberApiHosts)
    {
        if (_config is null) return null;
        if (_allowlist.Count > 0 || _config.AllowlistIncludeMembers)
        {
            var remote = context.Connection.RemoteIpAddress;
            if (remote is null) return (403, "Access is denied");
            if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
            var members = _config.AllowlistIncludeMembers ? memberApiHosts.SelectMany(Networks) : [];
            if (!_allowlist.Concat(members).Any(n => n.Contains(remote))) return (403, "Access is denied");
        }
        if (_config.CertFile is not null && _config.VerifyClient != RestApiClientCertificates.None && context.Connection.ClientCertificate is null)
            return (403, "client certificate required");
        if (_expectedAuth is not null)
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (header.Length == 0) return (401, "no auth header received");
            if (!header.StartsWith("Basic ", StringComparison.Ordinal)
                || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[6..]), _expectedAuth))
                return (401, "not authenticated");
        }
        return null;
    }

    /// <summary>An address, a CIDR, or a host name (resolved; an unresolvable one allows nothing).</summary>
    private static IEnumerable<IPNetwork> Networks(string entry)
    {
        entry = entry.Trim();
        if (entry.Contains('/', StringComparison.Ordinal))
            return IPNetwork.TryParse(entry, out var network) ? [network] : [];
        var host = entry.Trim('[', ']');
        if (IPAddress.TryParse(host, out var address)) return [Single(address)];
        try
        {
            return Dns.GetHostAddresses(host).Select(Single).ToList();
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ArgumentException)
        {
            return [];
        }
    }

    private static IPNetwork Single(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }
}
