namespace PgHa.Dcs.Consul.Client;

/// <summary>How a <see cref="ConsulClient"/> reaches its agent.</summary>
public sealed class ConsulClientOptions
{
    /// <summary>The agent's base URL (<c>http://127.0.0.1:8500</c>). Required; absolute, http or https, no path.</summary>
    public Uri? Address { get; set; }

    /// <summary>The ACL token sent as <c>X-Consul-Token</c> with every request; none when null or empty. Never logged.</summary>
    public string? Token { get; set; }

    /// <summary>The datacenter to address (<c>?dc=</c>); the agent's own when null or empty.</summary>
    public string? Datacenter { get; set; }

    /// <summary>The consistency mode of KV reads. Default <see cref="ConsulConsistency.Default"/>.</summary>
    public ConsulConsistency Consistency { get; set; } = ConsulConsistency.Default;

    /// <summary>Whether an https agent's certificate is checked (Patroni's <c>verify</c>). Default true.</summary>
    public bool Verify { get; set; } = true;

    /// <summary>A PEM file of the CA certificates the agent's certificate must chain to; the system store when null.</summary>
    public string? CaCert { get; set; }

    /// <summary>A PEM file with the client certificate (and its key unless <see cref="Key"/> is set).</summary>
    public string? Cert { get; set; }

    /// <summary>A PEM file with the private key of <see cref="Cert"/>.</summary>
    public string? Key { get; set; }

    /// <summary>How long connecting may take. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Checks every setting; one message per problem, each naming the setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Address is null) problems.Add("Address: the Consul agent URL is required (http://host:8500).");
        else if (!Address.IsAbsoluteUri || (Address.Scheme != Uri.UriSchemeHttp && Address.Scheme != Uri.UriSchemeHttps))
            problems.Add($"Address: '{Address}' must be an absolute http or https URL.");
        else if (Address.AbsolutePath != "/" || Address.Query.Length > 0)
            problems.Add($"Address: '{Address}' must name only scheme, host and port.");
        if (ConnectTimeout <= TimeSpan.Zero) problems.Add($"ConnectTimeout: {ConnectTimeout} must be positive.");
        CheckFile(problems, nameof(CaCert), CaCert);
        CheckFile(problems, nameof(Cert), Cert);
        CheckFile(problems, nameof(Key), Key);
        if (!string.IsNullOrEmpty(Key) && string.IsNullOrEmpty(Cert)) problems.Add("Key: set without Cert; the key belongs to a client certificate.");
        if ((!string.IsNullOrEmpty(CaCert) || !string.IsNullOrEmpty(Cert)) && Address?.Scheme == Uri.UriSchemeHttp)
            problems.Add("Address: CaCert/Cert are set but the address uses http; use https.");
        return problems;
    }

    private static void CheckFile(List<string> problems, string setting, string? path)
    {
        if (!string.IsNullOrEmpty(path) && !File.Exists(path)) problems.Add($"{setting}: file '{path}' does not exist.");
    }
}
