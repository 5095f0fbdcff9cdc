using PgHa.Dcs.Consul.Client;

namespace PgHa.Dcs.Consul;

/// <summary>
/// Settings of one node's <see cref="ConsulDcs"/> connection: Patroni's <c>consul:</c> section plus the cluster
/// identity. <see cref="Validate"/> names every bad setting; the <see cref="ConsulDcs"/> constructor refuses options
/// that do not validate.
/// </summary>
public sealed class ConsulDcsOptions
{
    /// <summary>The agent's base URL (Patroni's <c>url</c>, or <c>scheme://host:port</c>). Default <c>http://127.0.0.1:8500</c>.</summary>
    public Uri Address { get; set; } = new("http://127.0.0.1:8500");

    /// <summary>Patroni's <c>namespace</c>; leading, trailing and doubled <c>/</c> are ignored as Patroni does.</summary>
    /// <value>Default <c>service</c>, so keys live under <c>service/&lt;scope&gt;/</c> (Consul keys have no leading slash).</value>
    public string Namespace { get; set; } = "service";

    /// <summary>Patroni's <c>scope</c>: the cluster name. Required; cannot contain <c>/</c>.</summary>
    public string Scope { get; set; } = "";

    /// <summary>Patroni's <c>name</c>: this member's name. Required; cannot contain <c>/</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>The deadline of one DCS operation, every request it makes included (Patroni's <c>retry_timeout</c>). Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Patroni's <c>token</c>: the ACL token (<c>X-Consul-Token</c>). Never logged.</summary>
    public string? Token { get; set; }

    /// <summary>Patroni's <c>dc</c>: the datacenter; the agent's own when null.</summary>
    public string? Datacenter { get; set; }

    /// <summary>Patroni's <c>consistency</c> for cluster reads. Default <see cref="ConsulConsistency.Default"/>.</summary>
    public ConsulConsistency Consistency { get; set; } = ConsulConsistency.Default;

    /// <summary>Patroni's <c>verify</c>: check an https agent's certificate. Default true.</summary>
    public bool Verify { get; set; } = true;

    /// <summary>Patroni's <c>cacert</c>: a PEM file of CA certificates.</summary>
    public string? CaCert { get; set; }

    /// <summary>Patroni's <c>cert</c>: a PEM client certificate.</summary>
    public string? Cert { get; set; }

    /// <summary>Patroni's <c>key</c>: the PEM key of <see cref="Cert"/>.</summary>
    public string? Key { get; set; }

    /// <summary>
    /// Patroni's <c>checks</c>: the node checks the session depends on. Default none, so the session lives by its TTL
    /// alone (not by the agent's <c>serfHealth</c>).
    /// </summary>
    public IList<string> Checks { get; set; } = [];

    /// <summary>The lock-delay of the session: how long keys it held stay un-acquirable after it is invalidated. Default 1 ms (Patroni: 0.001 s; Consul's default is 15 s).</summary>
    public TimeSpan LockDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Patroni's <c>register_service</c>: register this node with the Consul agent as a service named after the scope,
    /// tagged with its role (<c>master</c>/<c>primary</c>, <c>replica</c>, <c>standby-leader</c>) and checked over HTTP
    /// against its REST API's role endpoint, so Consul DNS (<c>master.&lt;scope&gt;.service.consul</c>) follows failovers.
    /// </summary>
    public bool RegisterService { get; set; }

    /// <summary>Patroni's <c>service_tags</c>: extra tags on the registered service.</summary>
    public IList<string> ServiceTags { get; set; } = [];

    /// <summary>Patroni's <c>service_check_interval</c>: how often Consul calls the REST check. Default 5 s.</summary>
    public TimeSpan ServiceCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Patroni's <c>service_check_tls_server_name</c>: the server name the HTTPS check verifies.</summary>
    public string? ServiceCheckTlsServerName { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <returns>One message per bad setting, each naming it; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Scope)) problems.Add("Scope: the cluster scope is required.");
        else if (Scope.Contains('/', StringComparison.Ordinal)) problems.Add($"Scope: '{Scope}' cannot contain '/'.");
        if (string.IsNullOrWhiteSpace(Name)) problems.Add("Name: the member name is required.");
        else if (Name.Contains('/', StringComparison.Ordinal)) problems.Add($"Name: '{Name}' cannot contain '/'.");
        if (Namespace is null) problems.Add("Namespace: cannot be null (use \"\" for keys directly under <scope>/).");
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromHours(1))
            problems.Add($"RequestTimeout: {RequestTimeout} must be positive and at most an hour.");
        if (LockDelay < TimeSpan.Zero || LockDelay > TimeSpan.FromSeconds(60)) problems.Add($"LockDelay: {LockDelay} must be between 0 and 60 s.");
        if (Checks is null) problems.Add("Checks: cannot be null (empty means none).");
        if (ServiceTags is null) problems.Add("ServiceTags: cannot be null (empty means none).");
        if (ServiceCheckInterval <= TimeSpan.Zero || ServiceCheckInterval > TimeSpan.FromHours(1))
            problems.Add($"ServiceCheckInterval: {ServiceCheckInterval} must be positive and at most an hour.");
        problems.AddRange(ClientOptions().Validate());
        return problems;
    }

    /// <summary>The HTTP client's settings.</summary>
    internal ConsulClientOptions ClientOptions() => new()
    {
        Address = Address,
        Token = Token,
        Datacenter = Datacenter,
        Consistency = Consistency,
        Verify = Verify,
        CaCert = CaCert,
        Cert = Cert,
        Key = Key,
        ConnectTimeout = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, RequestTimeout.Ticks / 2)),
    };
}
