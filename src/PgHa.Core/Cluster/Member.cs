namespace PgHa.Cluster;

/// <summary>
/// One <c>members/&lt;name&gt;</c> key: what a node publishes about itself every HA cycle. The key is bound to the
/// node's TTL carrier and disappears when the node stops renewing it.
/// </summary>
/// <param name="Name">Member name (the last path element of the key).</param>
public sealed record Member(string Name)
{
    /// <summary><c>conn_url</c>: <c>postgres://host:port/postgres</c>.</summary>
    public string? ConnUrl { get; init; }
    /// <summary><c>api_url</c>: <c>http(s)://host:port/patroni</c>, the REST endpoint peers query in the leader race.</summary>
    public string? ApiUrl { get; init; }
    /// <summary><c>proxy_url</c>, when a proxy address is configured.</summary>
    public string? ProxyUrl { get; init; }
    /// <summary><c>state</c>: running, starting, stopped, crashed, creating replica, …</summary>
    public string? State { get; init; }
    /// <summary><c>role</c>, parsed.</summary>
    public MemberRole Role { get; init; }
    /// <summary><c>version</c>: the agent's version string (peers compare it as dot-separated integers).</summary>
    public string? AgentVersion { get; init; }
    /// <summary><c>xlog_location</c>: flush LSN on a primary, max(receive, replay) on a replica, in bytes.</summary>
    public long? XlogLocation { get; init; }
    /// <summary><c>receive_lsn</c> (Patroni 4.1+).</summary>
    public long? ReceiveLsn { get; init; }
    /// <summary><c>replay_lsn</c> (Patroni 4.1+).</summary>
    public long? ReplayLsn { get; init; }
    /// <summary><c>timeline</c>.</summary>
    public int? Timeline { get; init; }
    /// <summary><c>replication_state</c>: <c>streaming</c> or <c>in archive recovery</c> (Patroni 3.0.4+).</summary>
    public string? ReplicationState { get; init; }
    /// <summary><c>tags</c>.</summary>
    public MemberTags Tags { get; init; } = MemberTags.Empty;
    /// <summary><c>pending_restart: true</c>.</summary>
    public bool PendingRestart { get; init; }
    /// <summary><c>pause: true</c>: the node sees the cluster in maintenance mode.</summary>
    public bool Pause { get; init; }
    /// <summary><c>checkpoint_after_promote: false</c> while a new leader has not finished its post-promote CHECKPOINT; null when absent.</summary>
    public bool? CheckpointAfterPromote { get; init; }
    /// <summary>CAS token of the key.</summary>
    public DcsVersion Version { get; init; }
    /// <summary>The TTL carrier the key is bound to, when the DCS reports it.</summary>
    public string? Session { get; init; }
    /// <summary>
    /// The JSON object exactly as read, when this member came from the DCS. Serializing keeps its unknown fields and
    /// field order, so a value read and written back is unchanged.
    /// </summary>
    public string? RawJson { get; init; }

    /// <summary>Host part of <see cref="ConnUrl"/>, or null.</summary>
    public string? ConnHost => TryParseConnUrl(out var host, out _) ? host : null;

    /// <summary>Port part of <see cref="ConnUrl"/> (5432 when missing), or null.</summary>
    public int? ConnPort => TryParseConnUrl(out _, out var port) ? port : null;

    private bool TryParseConnUrl(out string host, out int port)
    {
        host = "";
        port = 0;
        if (ConnUrl is null || !Uri.TryCreate(ConnUrl, UriKind.Absolute, out var uri) || uri.Host.Length == 0) return false;
        host = uri.Host;
        port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port;
        return true;
    }
}
