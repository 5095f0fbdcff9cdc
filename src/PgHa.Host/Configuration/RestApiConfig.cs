using System.Collections.Immutable;

namespace PgHa.Host.Configuration;

/// <summary>HTTP Basic credentials (<c>authentication: {username, password}</c>).</summary>
/// <param name="Username">User name.</param>
/// <param name="Password">Password (hidden from <c>ToString</c>).</param>
public sealed record BasicAuthentication(string Username, Secret Password);

/// <summary><c>restapi.verify_client</c>.</summary>
public enum ClientCertificateMode
{
    /// <summary>No client certificate is asked for (default).</summary>
    None,
    /// <summary>Unsafe endpoints need a valid client certificate.</summary>
    Optional,
    /// <summary>Every request needs a valid client certificate.</summary>
    Required,
}

/// <summary>The <c>restapi</c> section: the node's REST API (Patroni's endpoints, default port 8008).</summary>
public sealed record RestApiConfig
{
    /// <summary><c>listen</c> (required): address the API binds to.</summary>
    public required HostPort Listen { get; init; }
    /// <summary><c>connect_address</c> (required): how peers and clients reach the API; published as <c>api_url</c>.</summary>
    public required HostPort ConnectAddress { get; init; }
    /// <summary><c>authentication</c>: Basic credentials required on unsafe endpoints.</summary>
    public BasicAuthentication? Authentication { get; init; }
    /// <summary><c>certfile</c>: server certificate (PEM); its presence switches the API to HTTPS.</summary>
    public string? CertFile { get; init; }
    /// <summary><c>keyfile</c>: private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }
    /// <summary><c>keyfile_password</c>.</summary>
    public Secret? KeyFilePassword { get; init; }
    /// <summary><c>cafile</c>: CA bundle to verify client certificates.</summary>
    public string? CaFile { get; init; }
    /// <summary><c>verify_client</c>: none (default), optional, required.</summary>
    public ClientCertificateMode VerifyClient { get; init; } = ClientCertificateMode.None;
    /// <summary><c>allowlist</c>: hosts, addresses or CIDRs allowed to call unsafe endpoints (empty = everyone).</summary>
    public ImmutableArray<string> Allowlist { get; init; } = [];
    /// <summary><c>allowlist_include_members</c>: members' API hosts are allowed too.</summary>
    public bool AllowlistIncludeMembers { get; init; }
    /// <summary><c>http_extra_headers</c>: headers added to every HTTP response.</summary>
    public OrderedMap<string> HttpExtraHeaders { get; init; } = OrderedMap<string>.Empty;
    /// <summary><c>https_extra_headers</c>: headers added to every HTTPS response.</summary>
    public OrderedMap<string> HttpsExtraHeaders { get; init; } = OrderedMap<string>.Empty;
    /// <summary><c>request_queue_size</c> (default 5): listen backlog.</summary>
    public int RequestQueueSize { get; init; } = 5;

    /// <summary><c>https</c> when a certificate is configured, else <c>http</c>.</summary>
    public string Scheme => CertFile is null ? "http" : "https";

    /// <summary>The <c>api_url</c> published in the member key: <c>http(s)://connect_address/patroni</c>.</summary>
    public string ApiUrl => $"{Scheme}://{ConnectAddress}/patroni";
}

/// <summary>The <c>ctl</c> section: how <c>pgha ctl</c> and peer calls authenticate to other nodes' REST APIs.</summary>
public sealed record CtlConfig
{
    /// <summary><c>authentication</c>; falls back to <c>restapi.authentication</c> when absent.</summary>
    public BasicAuthentication? Authentication { get; init; }
    /// <summary><c>insecure</c>: do not verify the server certificate.</summary>
    public bool Insecure { get; init; }
    /// <summary><c>cacert</c>: CA bundle to verify servers.</summary>
    public string? CaCert { get; init; }
    /// <summary><c>certfile</c>: client certificate.</summary>
    public string? CertFile { get; init; }
    /// <summary><c>keyfile</c>: client key.</summary>
    public string? KeyFile { get; init; }
    /// <summary><c>keyfile_password</c>.</summary>
    public Secret? KeyFilePassword { get; init; }
}
