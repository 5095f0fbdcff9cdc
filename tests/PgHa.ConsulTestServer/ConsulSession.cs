namespace PgHa.ConsulTestServer;

/// <summary>A session as Consul reports it (<c>GET /v1/session/info/:uuid</c>).</summary>
/// <param name="Id">The session id (a UUID).</param>
/// <param name="Name">The opaque name given at creation.</param>
/// <param name="Node">The node the session belongs to.</param>
/// <param name="NodeChecks">The node health checks the session is bound to.</param>
/// <param name="LockDelay">How long keys it held stay un-acquirable after it is invalidated.</param>
/// <param name="Behavior"><c>release</c> or <c>delete</c>: what invalidation does to the keys it holds.</param>
/// <param name="Ttl">The TTL as given (<c>""</c> for none).</param>
/// <param name="CreateIndex">The index at which the session was created.</param>
public sealed record ConsulSession(string Id, string Name, string Node, IReadOnlyList<string> NodeChecks, TimeSpan LockDelay, string Behavior, string Ttl, ulong CreateIndex);

/// <summary>The body of <c>PUT /v1/session/create</c>, parsed; null fields take Consul's defaults.</summary>
public sealed record SessionRequest
{
    /// <summary><c>Name</c>.</summary>
    public string? Name { get; init; }
    /// <summary><c>Node</c>; default the agent's node.</summary>
    public string? Node { get; init; }
    /// <summary><c>Checks</c> / <c>NodeChecks</c>; default <c>["serfHealth"]</c>, an explicit empty list means none.</summary>
    public IReadOnlyList<string>? NodeChecks { get; init; }
    /// <summary><c>ServiceChecks</c>: service check ids.</summary>
    public IReadOnlyList<string>? ServiceChecks { get; init; }
    /// <summary><c>LockDelay</c>; default 15 s.</summary>
    public TimeSpan? LockDelay { get; init; }
    /// <summary><c>Behavior</c>; default <c>release</c>.</summary>
    public string? Behavior { get; init; }
    /// <summary><c>TTL</c> as given; default none.</summary>
    public string? Ttl { get; init; }
}
