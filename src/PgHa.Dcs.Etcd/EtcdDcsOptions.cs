using System.Globalization;

namespace PgHa.Dcs.Etcd;

/// <summary>
/// Settings of one node's <see cref="EtcdDcs"/> connection: Patroni's <c>etcd3:</c> section plus the cluster
/// identity. <see cref="Validate"/> names every bad setting; the <see cref="EtcdDcs"/> constructor refuses options
/// that do not validate.
/// </summary>
public sealed class EtcdDcsOptions
{
    /// <summary>The port used for an endpoint given without one (etcd's client port).</summary>
    public const int DefaultPort = 2379;

    /// <summary>
    /// The etcd endpoints, in any of Patroni's forms: <c>host</c>/<c>hosts</c> (<c>127.0.0.1:2379</c>,
    /// <c>etcd1:2379,etcd2:2379</c>) and <c>url</c>/<c>urls</c> (<c>http://etcd1:2379</c>). Each entry may itself be a
    /// comma-separated list. A port left out is <see cref="DefaultPort"/>; a scheme left out is <see cref="Protocol"/>.
    /// Requests go to one endpoint at a time, in this order: one that fails to answer moves the next request to the next
    /// endpoint (as Patroni's etcd3 client switches endpoints). Required.
    /// </summary>
    public IList<string> Endpoints { get; set; } = [];

    /// <summary>
    /// Patroni's <c>protocol</c>: <c>http</c> or <c>https</c>, the scheme of endpoints given without one.
    /// </summary>
    /// <value>Default null: <c>https</c> when <see cref="CaCert"/> or <see cref="Cert"/> is set, else <c>http</c>.</value>
    public string? Protocol { get; set; }

    /// <summary>Patroni's <c>namespace</c>; leading, trailing and doubled <c>/</c> are ignored as Patroni does.</summary>
    /// <value>Default <c>service</c>, so keys live under <c>/service/&lt;scope&gt;/</c>.</value>
    public string Namespace { get; set; } = "service";

    /// <summary>Patroni's <c>scope</c>: the cluster name. Required; cannot contain <c>/</c>.</summary>
    public string Scope { get; set; } = "";

    /// <summary>Patroni's <c>name</c>: this member's name, the value of the leader key it holds. Required; cannot contain <c>/</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The deadline of one DCS operation, every etcd request it makes included (Patroni's <c>retry_timeout</c>): past it
    /// the operation throws <see cref="DcsUnavailableException"/>.
    /// </summary>
    /// <value>Default 10 s.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>etcd user name (etcd authentication, etcd 3.3 or later). Optional; set together with <see cref="Password"/>.</summary>
    public string? Username { get; set; }

    /// <summary>etcd password of <see cref="Username"/>. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Patroni's <c>cacert</c>: a PEM file of the CA certificates the servers' certificates must chain to. Without it the
    /// system trust store is used.
    /// </summary>
    public string? CaCert { get; set; }

    /// <summary>Patroni's <c>cert</c>: a PEM file with the client certificate (and its key, unless <see cref="Key"/> is set).</summary>
    public string? Cert { get; set; }

    /// <summary>Patroni's <c>key</c>: a PEM file with the private key of <see cref="Cert"/>.</summary>
    public string? Key { get; set; }

    /// <summary>Patroni's <c>key_password</c>: the password of an encrypted <see cref="Key"/>. Never logged.</summary>
    public string? KeyPassword { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <returns>One message per bad setting, each naming it; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Scope)) problems.Add("Scope: the cluster scope is required.");
        else if (Scope.Contains('/', StringComparison.Ordinal)) problems.Add($"Scope: '{Scope}' cannot contain '/'.");
        if (string.IsNullOrWhiteSpace(Name)) problems.Add("Name: the member name is required.");
        else if (Name.Contains('/', StringComparison.Ordinal)) problems.Add($"Name: '{Name}' cannot contain '/'.");
        if (Namespace is null) problems.Add("Namespace: cannot be null (use \"\" for keys directly under /<scope>/).");
        if (Protocol is not null && Protocol is not ("http" or "https"))
            problems.Add($"Protocol: '{Protocol}' is neither 'http' nor 'https'.");

        var endpoints = ParseEndpoints(problems);
        if (endpoints.Count == 0 && !problems.Any(p => p.StartsWith("Endpoints:", StringComparison.Ordinal)))
            problems.Add("Endpoints: at least one etcd endpoint is required (host:port or http(s)://host:port).");
        if (endpoints.Select(u => u.Scheme).Distinct().Count() > 1)
            problems.Add("Endpoints: mixes http and https; use one scheme for all endpoints.");

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromHours(1))
            problems.Add($"RequestTimeout: {RequestTimeout} must be positive and at most an hour.");

        if (!string.IsNullOrEmpty(Username) && string.IsNullOrEmpty(Password)) problems.Add("Password: required when Username is set.");
        if (string.IsNullOrEmpty(Username) && !string.IsNullOrEmpty(Password)) problems.Add("Username: required when Password is set.");

        CheckFile(problems, nameof(CaCert), CaCert);
        CheckFile(problems, nameof(Cert), Cert);
        CheckFile(problems, nameof(Key), Key);
        if (!string.IsNullOrEmpty(Key) && string.IsNullOrEmpty(Cert)) problems.Add("Key: set without Cert; the key belongs to a client certificate.");
        if (!string.IsNullOrEmpty(KeyPassword) && string.IsNullOrEmpty(Cert)) problems.Add("KeyPassword: set without Cert.");
        var tlsFiles = !string.IsNullOrEmpty(CaCert) || !string.IsNullOrEmpty(Cert);
        if (tlsFiles && endpoints.Any(u => u.Scheme == Uri.UriSchemeHttp))
            problems.Add("Endpoints: CaCert/Cert are set but an endpoint uses http; use https (or leave the scheme out).");
        return problems;
    }

    /// <summary>
    /// The endpoints as absolute <c>http</c>/<c>https</c> URIs with a port, in configuration order, without duplicates.
    /// Entries that cannot be parsed are reported in <paramref name="problems"/> and left out.
    /// </summary>
    internal IReadOnlyList<Uri> ParseEndpoints(List<string> problems)
    {
        var scheme = Protocol is "http" or "https" ? Protocol
            : !string.IsNullOrEmpty(CaCert) || !string.IsNullOrEmpty(Cert) ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;
        var result = new List<Uri>();
        foreach (var entry in Endpoints ?? [])
        {
            foreach (var part in (entry ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (TryParseEndpoint(part, scheme, out var uri, out var why))
                {
                    if (!result.Contains(uri)) result.Add(uri);
                }
                else
                    problems.Add($"Endpoints: '{part}' {why}.");
            }
        }
        return result;
    }

    private static bool TryParseEndpoint(string text, string defaultScheme, out Uri uri, out string why)
    {
        uri = null!;
        why = "";
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : $"{defaultScheme}://{text}";
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var parsed) || parsed.Host.Length == 0)
        {
            why = "is not host:port or http(s)://host:port";
            return false;
        }
        if (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
        {
            why = $"has scheme '{parsed.Scheme}'; only http and https are supported";
            return false;
        }
        if (parsed.AbsolutePath != "/" || parsed.Query.Length > 0 || parsed.UserInfo.Length > 0)
        {
            why = "must name only scheme, host and port (no path, query or user)";
            return false;
        }
        // Uri fills in 80/443 when the port is left out; Patroni means etcd's client port then.
        var explicitPort = HasExplicitPort(withScheme);
        var port = explicitPort ? parsed.Port : DefaultPort;
        uri = new UriBuilder(parsed.Scheme, parsed.Host, port).Uri;
        return true;
    }

    private static bool HasExplicitPort(string absolute)
    {
        var authority = absolute[(absolute.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var slash = authority.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0) authority = authority[..slash];
        var close = authority.LastIndexOf(']');
        var colon = authority.LastIndexOf(':');
        return colon > close && colon < authority.Length - 1
            && int.TryParse(authority.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }

    private static void CheckFile(List<string> problems, string setting, string? path)
    {
        if (!string.IsNullOrEmpty(path) && !File.Exists(path)) problems.Add($"{setting}: file '{path}' does not exist.");
    }
}
