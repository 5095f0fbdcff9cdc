using System.Globalization;
using System.Net;

namespace PgHa.Dcs.ZooKeeper;

/// <summary>
/// Settings of one node's <see cref="ZooKeeperDcs"/> connection: Patroni's <c>zookeeper:</c> section plus the cluster
/// identity and timing. <see cref="Validate"/> names every bad setting; the <see cref="ZooKeeperDcs"/> constructor
/// refuses options that do not validate.
/// </summary>
public sealed class ZooKeeperDcsOptions
{
    /// <summary>The port used for a host given without one (ZooKeeper's client port).</summary>
    public const int DefaultPort = 2181;

    /// <summary>
    /// The servers of the ensemble as Patroni's <c>hosts</c>: <c>host:port</c> entries (<c>zk1:2181</c>, <c>[::1]:2181</c>),
    /// each possibly a comma-separated list. A port left out is <see cref="DefaultPort"/>. Required.
    /// </summary>
    public IList<string> Hosts { get; set; } = [];

    /// <summary>Patroni's <c>namespace</c>; leading, trailing and doubled <c>/</c> are ignored as Patroni does.</summary>
    /// <value>Default <c>service</c>, so znodes live under <c>/service/&lt;scope&gt;/</c>.</value>
    public string Namespace { get; set; } = "service";

    /// <summary>Patroni's <c>scope</c>: the cluster name. Required; cannot contain <c>/</c>.</summary>
    public string Scope { get; set; } = "";

    /// <summary>Patroni's <c>name</c>: this member's name, the data of the leader znode it holds. Required; cannot contain <c>/</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The session timeout of a session opened by an operation that passes no ttl (a load before the first touch, or
    /// <c>pgha ctl</c>). Operations that pass a ttl open their session with it. Patroni's <c>ttl</c>.
    /// </summary>
    /// <value>Default 30 s.</value>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The deadline of one DCS operation, every ZooKeeper request it makes included (Patroni's <c>retry_timeout</c>):
    /// past it the operation throws <see cref="DcsUnavailableException"/>.
    /// </summary>
    /// <value>Default 10 s.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting to one server may take before the next is tried. Null: a quarter of <see cref="RequestTimeout"/>, at least 1 s (Patroni: <c>max(1, loop_wait/2)</c>).</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>
    /// The ensemble's <c>tickTime</c>. ZooKeeper expires sessions on tick boundaries and its servers relay session
    /// activity to the ensemble leader once per half tick, so the lock's guaranteed validity leaves one tick of room
    /// (see <see cref="ZooKeeperDcs.GuaranteedLockValidity"/>). Set it to the servers' <c>tickTime</c> when that is longer.
    /// </summary>
    /// <value>Default 2 s, ZooKeeper's default tickTime.</value>
    public TimeSpan ServerTickTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Patroni's <c>auth_data</c>: credentials added to every connection, scheme → credential (for example
    /// <c>digest</c> → <c>user:password</c>). Never logged.
    /// </summary>
    public IList<KeyValuePair<string, string>> AuthData { get; set; } = [];

    /// <summary>Checks every setting.</summary>
    /// <returns>One message per bad setting, each naming it; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Scope)) problems.Add("Scope: the cluster scope is required.");
        else if (Scope.Contains('/', StringComparison.Ordinal)) problems.Add($"Scope: '{Scope}' cannot contain '/'.");
        if (string.IsNullOrWhiteSpace(Name)) problems.Add("Name: the member name is required.");
        else if (Name.Contains('/', StringComparison.Ordinal)) problems.Add($"Name: '{Name}' cannot contain '/'.");
        if (Namespace is null) problems.Add("Namespace: cannot be null (use \"\" for znodes directly under /<scope>/).");
        var hosts = ParseHosts(problems);
        if (hosts.Count == 0 && !problems.Any(p => p.StartsWith("Hosts:", StringComparison.Ordinal)))
            problems.Add("Hosts: at least one ZooKeeper server is required (host:port).");
        if (Ttl < TimeSpan.FromSeconds(1) || Ttl > TimeSpan.FromHours(1)) problems.Add($"Ttl: {Ttl} must be between 1 s and an hour.");
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromHours(1))
            problems.Add($"RequestTimeout: {RequestTimeout} must be positive and at most an hour.");
        if (ConnectTimeout is { } connect && (connect <= TimeSpan.Zero || connect > TimeSpan.FromHours(1)))
            problems.Add($"ConnectTimeout: {connect} must be positive and at most an hour.");
        if (ServerTickTime <= TimeSpan.Zero || ServerTickTime > TimeSpan.FromMinutes(1))
            problems.Add($"ServerTickTime: {ServerTickTime} must be positive and at most a minute.");
        foreach (var (scheme, credential) in AuthData ?? [])
        {
            if (string.IsNullOrWhiteSpace(scheme)) problems.Add("AuthData: an entry has no scheme.");
            else if (credential is null) problems.Add($"AuthData: the credential of scheme '{scheme}' is missing.");
            else if (scheme == "digest" && !credential.Contains(':', StringComparison.Ordinal))
                problems.Add("AuthData: a digest credential must be 'user:password'.");
        }
        return problems;
    }

    /// <summary>The hosts in configuration order, without duplicates; entries that cannot be parsed are reported in <paramref name="problems"/>.</summary>
    internal IReadOnlyList<DnsEndPoint> ParseHosts(List<string> problems)
    {
        var result = new List<DnsEndPoint>();
        foreach (var entry in Hosts ?? [])
        {
            foreach (var part in (entry ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (TryParseHost(part, out var endpoint))
                {
                    if (!result.Contains(endpoint)) result.Add(endpoint);
                }
                else
                    problems.Add($"Hosts: '{part}' is not host or host:port (port 1-65535; IPv6 in brackets).");
            }
        }
        return result;
    }

    private static bool TryParseHost(string text, out DnsEndPoint endpoint)
    {
        endpoint = null!;
        string host;
        var port = DefaultPort;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port))) return false;
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon >= 0 && text.IndexOf(':', StringComparison.Ordinal) != colon) return false; // bare IPv6 needs brackets
            host = colon >= 0 ? text[..colon] : text;
            if (colon >= 0 && !TryPort(text[(colon + 1)..], out port)) return false;
        }
        if (host.Length == 0 || host.Contains('/', StringComparison.Ordinal)) return false;
        endpoint = new DnsEndPoint(host, port);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
