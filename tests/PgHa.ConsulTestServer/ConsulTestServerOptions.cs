namespace PgHa.ConsulTestServer;

/// <summary>Settings of a <see cref="ConsulTestServer"/>.</summary>
public sealed class ConsulTestServerOptions
{
    /// <summary>The loopback port to listen on; 0 picks a free one (read it back from <see cref="ConsulTestServer.Port"/>).</summary>
    public int Port { get; set; }

    /// <summary>The address to listen on. Default <c>127.0.0.1</c>.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The one datacenter this server is (<c>?dc=</c> naming another fails as Consul fails without a WAN path).</summary>
    public string Datacenter { get; set; } = "dc1";

    /// <summary>The node name of the agent, the default node of sessions.</summary>
    public string NodeName { get; set; } = "pgha-consul-test";

    /// <summary>
    /// The smallest session TTL accepted. Consul's default (<c>session_ttl_min</c>) is 10 s, which is the default here
    /// too. Tests may lower it to keep expiry tests short; Consul itself lets operators change it the same way.
    /// </summary>
    public TimeSpan SessionTtlMin { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How much later than its TTL an unrenewed session is invalidated: Consul waits up to twice the TTL, and this
    /// server waits exactly that long by default (factor 2). Must be at least 1.
    /// </summary>
    public double SessionTtlMultiplier { get; set; } = 2.0;

    /// <summary>Add Consul's random extra wait of up to <c>wait/16</c> to blocking queries (default on). Off makes them end exactly at <c>wait</c>.</summary>
    public bool BlockingQueryJitter { get; set; } = true;

    /// <summary>When set, every request must carry this token (<c>X-Consul-Token</c> header or <c>?token=</c>), else 403 "ACL not found".</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Checks the settings; one message per problem.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Port is < 0 or > 65535) problems.Add($"Port: {Port} is not a TCP port.");
        if (string.IsNullOrWhiteSpace(Datacenter)) problems.Add("Datacenter: required.");
        if (string.IsNullOrWhiteSpace(NodeName)) problems.Add("NodeName: required.");
        if (SessionTtlMin <= TimeSpan.Zero || SessionTtlMin > TimeSpan.FromHours(24)) problems.Add($"SessionTtlMin: {SessionTtlMin} must be positive and at most 24 h.");
        if (!(SessionTtlMultiplier >= 1)) problems.Add($"SessionTtlMultiplier: {SessionTtlMultiplier} must be at least 1.");
        return problems;
    }
}
