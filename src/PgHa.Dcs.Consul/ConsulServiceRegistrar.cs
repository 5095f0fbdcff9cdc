using System.Text;
using Microsoft.Extensions.Logging;
using PgHa.Cluster;
using PgHa.Dcs.Consul.Client;

namespace PgHa.Dcs.Consul;

/// <summary>
/// Keeps this node's Consul service in step with its member key (Patroni's <c>register_service</c>): registered while
/// PostgreSQL runs in a known role, tagged with that role, deregistered when PostgreSQL is stopped. The agent is told
/// only when the role, state or addresses change, or the last attempt failed.
/// </summary>
internal sealed class ConsulServiceRegistrar
{
    private readonly ConsulClient _client;
    private readonly ConsulDcsOptions _options;
    private readonly ILogger _logger;
    private readonly string _serviceId;
    private (string? Role, string? State, string? ApiUrl, string? ConnUrl)? _told;
    private bool _registered;

    public ConsulServiceRegistrar(ConsulClient client, ConsulDcsOptions options, ILogger logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        _serviceId = $"{options.Scope}/{options.Name}";
        ServiceName = ServiceNameOf(options.Scope);
    }

    /// <summary>The service name: the scope made DNS-safe the way Patroni does it.</summary>
    public string ServiceName { get; }

    /// <summary>
    /// Patroni's rule: lowercase; '.', ' ' and '_' become '-'; any other character outside [a-z0-9-] becomes 'u' and its
    /// code as four digits; at most 230 characters, so <c>replica.&lt;name&gt;.service.consul</c> fits in a DNS name.
    /// </summary>
    public static string ServiceNameOf(string scope)
    {
        var sb = new StringBuilder(scope.Length);
        foreach (var c in scope.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') sb.Append(c);
            else if (c is '.' or ' ' or '_') sb.Append('-');
            else sb.Append('u').Append(((int)c).ToString("D4", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.Length > 230 ? sb.ToString(0, 230) : sb.ToString();
    }

    /// <summary>Brings the registration in line with <paramref name="self"/>; failures are logged and retried next time.</summary>
    public async Task UpdateAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var role = RoleName(self.Role);
        var view = (role, self.State, self.ApiUrl, self.ConnUrl);
        if (_told == view) return;
        try
        {
            if (self.State == "stopped")
            {
                if (_registered && await _client.DeregisterServiceAsync(_serviceId, cancellationToken).ConfigureAwait(false))
                    Log.ServiceDeregistered(_logger, _serviceId, "PostgreSQL is stopped");
                _registered = false;
            }
            else if (role is not null && self.State == "running" && self.ApiUrl is not null && self.ConnHost is { } host && self.ConnPort is { } port
                     && Uri.TryCreate(self.ApiUrl, UriKind.Absolute, out var api))
            {
                var check = new UriBuilder(api) { Path = "/" + role, Query = "" }.Uri.ToString();
                var tags = _options.ServiceTags.Order(StringComparer.Ordinal).Append(role).ToList();
                if (role == "master") tags.Add("primary");
                // Consul drops a service whose check stays critical this long; Patroni uses ten session TTLs.
                var deregisterAfter = TimeSpan.FromSeconds(Math.Ceiling(ttl.TotalSeconds / 2) * 10);
                await _client.RegisterServiceAsync(new ConsulServiceRegistration(_serviceId, ServiceName, host, port, tags,
                    check, _options.ServiceCheckInterval, deregisterAfter, _options.ServiceCheckTlsServerName), cancellationToken).ConfigureAwait(false);
                _registered = true;
                Log.ServiceRegistered(_logger, ServiceName, _serviceId, string.Join(",", tags), check);
            }
            // Starting, demoting or an unknown role: keep what the agent has until the node settles.
            _told = view;
        }
        catch (Exception ex) when (ex is ConsulApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            _told = null;
            Log.ServiceRegistrationFailed(_logger, _serviceId, ex.Message);
        }
    }

    // Patroni registers only these roles, with '_' as '-' (standby_leader → standby-leader).
    private static string? RoleName(MemberRole role) => role switch
    {
        MemberRole.Primary => "master",
        MemberRole.Replica => "replica",
        MemberRole.StandbyLeader => "standby-leader",
        _ => null,
    };
}
