namespace PgHa.Dcs.Consul.Client;

/// <summary>One key of Consul's KV store as read (<c>GET /v1/kv/:key</c>).</summary>
/// <param name="Key">The full key, without a leading slash.</param>
/// <param name="Value">The value, base64-decoded (empty for a key stored without a value).</param>
/// <param name="Flags">The opaque 64-bit flags stored with the value.</param>
/// <param name="CreateIndex">The index at which the key was created.</param>
/// <param name="ModifyIndex">The index of the last write to the key: the compare-and-set token.</param>
/// <param name="LockIndex">How many times the key has been acquired by a session.</param>
/// <param name="Session">The session holding the lock on the key, or null.</param>
public sealed record ConsulKvPair(string Key, byte[] Value, ulong Flags, ulong CreateIndex, ulong ModifyIndex, ulong LockIndex, string? Session);

/// <summary>The answer of a read: the value and the index Consul reported in <c>X-Consul-Index</c>.</summary>
/// <typeparam name="T">What was read.</typeparam>
/// <param name="Value">The result.</param>
/// <param name="Index">The <c>X-Consul-Index</c> of the answer (0 when Consul sent none); pass it back to block for a change.</param>
/// <param name="KnownLeader">Consul's <c>X-Consul-KnownLeader</c>: false when the answering server knew no raft leader.</param>
public sealed record ConsulQueryResult<T>(T Value, ulong Index, bool KnownLeader);

/// <summary>Consul's read consistency modes (<c>consistency</c> in Patroni's <c>consul:</c> section).</summary>
public enum ConsulConsistency
{
    /// <summary>Consul's default: a read from the leader, which may be stale for a moment after a leader change.</summary>
    Default,
    /// <summary><c>?consistent</c>: the leader confirms it still leads before answering (an extra round trip).</summary>
    Consistent,
    /// <summary><c>?stale</c>: any server answers from its own copy.</summary>
    Stale,
}

/// <summary>What invalidating a session does to the keys it holds.</summary>
public enum ConsulSessionBehavior
{
    /// <summary>The locks are released; the keys stay (Consul's default).</summary>
    Release,
    /// <summary>The keys are deleted (ephemeral keys; Patroni's choice).</summary>
    Delete,
}

/// <summary>The body of <c>PUT /v1/session/create</c>.</summary>
/// <param name="Name">The opaque name (Patroni: <c>&lt;scope&gt;-&lt;name&gt;</c>).</param>
/// <param name="Ttl">The TTL; Consul invalidates an unrenewed session between one and two TTLs after the last renewal. Zero: none.</param>
/// <param name="LockDelay">How long keys it held cannot be acquired after it is invalidated.</param>
/// <param name="Behavior">What invalidation does to its keys.</param>
/// <param name="Checks">The node health checks the session depends on; empty means only the TTL.</param>
public sealed record ConsulSessionRequest(string Name, TimeSpan Ttl, TimeSpan LockDelay, ConsulSessionBehavior Behavior, IReadOnlyList<string> Checks);

/// <summary>A service registration with the local agent (<c>PUT /v1/agent/service/register</c>).</summary>
/// <param name="Id">The service id.</param>
/// <param name="Name">The service name.</param>
/// <param name="Address">The address clients connect to.</param>
/// <param name="Port">The port clients connect to.</param>
/// <param name="Tags">The tags (role tags).</param>
/// <param name="CheckHttp">The URL of an HTTP health check, or null for none.</param>
/// <param name="CheckInterval">How often the agent runs the check.</param>
/// <param name="DeregisterCriticalAfter">How long the check may stay critical before the agent removes the service.</param>
/// <param name="CheckTlsServerName">The TLS server name the check uses, or null.</param>
public sealed record ConsulServiceRegistration(string Id, string Name, string Address, int Port, IReadOnlyList<string> Tags,
    string? CheckHttp, TimeSpan CheckInterval, TimeSpan DeregisterCriticalAfter, string? CheckTlsServerName);
