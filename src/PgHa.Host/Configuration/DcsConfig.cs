using System.Collections.Immutable;

namespace PgHa.Host.Configuration;

/// <summary>The one distributed configuration store section (<c>etcd3</c>, <c>etcd</c>, <c>zookeeper</c> or <c>consul</c>).</summary>
public abstract record DcsConfig
{
    /// <summary>The section name: <c>etcd3</c>, <c>etcd</c>, <c>zookeeper</c> or <c>consul</c>.</summary>
    public abstract string Kind { get; }
}

/// <summary>The <c>etcd3</c> (v3 API) or <c>etcd</c> (v2 API) section.</summary>
public sealed record EtcdConfig : DcsConfig
{
    /// <summary>True for <c>etcd3</c>, false for <c>etcd</c>.</summary>
    public required bool V3 { get; init; }
    /// <inheritdoc />
    public override string Kind => V3 ? "etcd3" : "etcd";
    /// <summary><c>host</c>: one endpoint <c>host:port</c> (port default 2379).</summary>
    public HostPort? Host { get; init; }
    /// <summary><c>hosts</c>: endpoints <c>host:port</c>, a list or a comma-separated string.</summary>
    public ImmutableArray<HostPort> Hosts { get; init; } = [];
    /// <summary><c>url</c>: one endpoint URL (wins over <c>hosts</c> and <c>host</c>).</summary>
    public string? Url { get; init; }
    /// <summary><c>protocol</c>: http (default) or https, for <c>host</c>/<c>hosts</c>.</summary>
    public string Protocol { get; init; } = "http";
    /// <summary><c>username</c>.</summary>
    public string? Username { get; init; }
    /// <summary><c>password</c>.</summary>
    public Secret? Password { get; init; }
    /// <summary><c>cacert</c>: CA bundle.</summary>
    public string? CaCert { get; init; }
    /// <summary><c>cert</c>: client certificate.</summary>
    public string? Cert { get; init; }
    /// <summary><c>key</c>: client key.</summary>
    public string? Key { get; init; }

    /// <summary>
    /// The endpoint URLs in Patroni's precedence: <c>url</c>, else every <c>hosts</c> entry, else <c>host</c>, each as
    /// <c>protocol://host:port</c>.
    /// </summary>
    public ImmutableArray<string> Endpoints =>
        Url is not null ? [Url]
        : !Hosts.IsEmpty ? [.. Hosts.Select(h => $"{Protocol}://{h}")]
        : Host is not null ? [$"{Protocol}://{Host}"]
        : [];
}

/// <summary>The <c>zookeeper</c> section.</summary>
public sealed record ZooKeeperConfig : DcsConfig
{
    /// <inheritdoc />
    public override string Kind => "zookeeper";
    /// <summary><c>hosts</c> (required): <c>host:port</c> entries (port default 2181), a list or a comma-separated string.</summary>
    public required ImmutableArray<HostPort> Hosts { get; init; }
    /// <summary><c>use_ssl</c>.</summary>
    public bool UseSsl { get; init; }
    /// <summary><c>verify</c> (default true): verify the server certificate.</summary>
    public bool Verify { get; init; } = true;
    /// <summary><c>cacert</c>.</summary>
    public string? CaCert { get; init; }
    /// <summary><c>cert</c>.</summary>
    public string? Cert { get; init; }
    /// <summary><c>key</c>.</summary>
    public string? Key { get; init; }
    /// <summary><c>key_password</c>.</summary>
    public Secret? KeyPassword { get; init; }
    /// <summary><c>set_acls</c>: x509 principal → permissions (READ, WRITE, CREATE, DELETE, ADMIN, ALL).</summary>
    public OrderedMap<ImmutableArray<string>> SetAcls { get; init; } = OrderedMap<ImmutableArray<string>>.Empty;
    /// <summary><c>auth_data</c>: scheme → credential (hidden from <c>ToString</c>).</summary>
    public OrderedMap<Secret> AuthData { get; init; } = OrderedMap<Secret>.Empty;
}

/// <summary>The <c>consul</c> section.</summary>
public sealed record ConsulConfig : DcsConfig
{
    /// <inheritdoc />
    public override string Kind => "consul";
    /// <summary><c>host</c> (default <c>127.0.0.1:8500</c>).</summary>
    public HostPort Host { get; init; } = new("127.0.0.1", 8500);
    /// <summary><c>url</c>: wins over <c>host</c>, <c>port</c> and <c>scheme</c>.</summary>
    public string? Url { get; init; }
    /// <summary><c>port</c>: overrides the port of <c>host</c>.</summary>
    public int? Port { get; init; }
    /// <summary><c>scheme</c>: http (default) or https.</summary>
    public string Scheme { get; init; } = "http";
    /// <summary><c>token</c>: ACL token (<c>X-Consul-Token</c>).</summary>
    public Secret? Token { get; init; }
    /// <summary><c>verify</c>: verify the server certificate (default true).</summary>
    public bool Verify { get; init; } = true;
    /// <summary><c>cacert</c>.</summary>
    public string? CaCert { get; init; }
    /// <summary><c>cert</c>.</summary>
    public string? Cert { get; init; }
    /// <summary><c>key</c>.</summary>
    public string? Key { get; init; }
    /// <summary><c>dc</c>: datacenter.</summary>
    public string? Dc { get; init; }
    /// <summary><c>consistency</c>: default, consistent or stale.</summary>
    public string Consistency { get; init; } = "default";
    /// <summary><c>checks</c>: session health checks (default none: the session depends on its TTL only).</summary>
    public ImmutableArray<string> Checks { get; init; } = [];
    /// <summary><c>register_service</c>.</summary>
    public bool RegisterService { get; init; }
    /// <summary><c>service_tags</c>.</summary>
    public ImmutableArray<string> ServiceTags { get; init; } = [];
    /// <summary><c>service_check_interval</c> (default <c>5s</c>).</summary>
    public string ServiceCheckInterval { get; init; } = "5s";
    /// <summary><c>service_check_tls_server_name</c>.</summary>
    public string? ServiceCheckTlsServerName { get; init; }

    /// <summary>The agent's base URL: <c>url</c>, else <c>scheme://host:port</c>.</summary>
    public string BaseUrl => Url ?? $"{Scheme}://{(Port is { } p ? Host with { Port = p } : Host)}";
}
