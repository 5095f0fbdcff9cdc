using Microsoft.Extensions.Logging;

namespace PgHa.Dcs.Consul;

/// <summary>
/// Stable event ids of the Consul adapter's log events: 1300–1399, inside PgHa's DCS range (1xxx). The HA loop logs
/// the outcome of each DCS operation itself; these events add what only the adapter knows — its Consul session.
/// </summary>
public static class ConsulDcsEventId
{
    /// <summary>Debug: the connection was created (agent, cluster prefix, member). No I/O happens before the first operation.</summary>
    public const int Created = 1300;

    /// <summary>Debug: a new Consul session was created for this node (first use, after the old one was lost, or after a TTL change).</summary>
    public const int SessionCreated = 1301;

    /// <summary>
    /// Warning: this node's session is gone (invalidated after its TTL, or destroyed), and with it every key it held —
    /// the member key and, if this node held it, the leader lock. A new session is created.
    /// </summary>
    public const int SessionLost = 1302;

    /// <summary>Information: the TTL changed, so a new session with the new TTL replaces the old one (which is left to expire).</summary>
    public const int SessionTtlChanged = 1303;

    /// <summary>Information: the leader key held this member's name under another session and was re-acquired with this node's session.</summary>
    public const int LeaderKeyRebound = 1304;

    /// <summary>Debug: a Consul request failed or timed out; the operation throws <see cref="DcsUnavailableException"/>.</summary>
    public const int RequestFailed = 1305;

    /// <summary>Debug: a blocking query of the wait failed; it is retried after a pause.</summary>
    public const int WatchFailed = 1306;

    /// <summary>Warning: a compare-and-set was given a version token that is not a Consul index, so its condition cannot hold.</summary>
    public const int ForeignVersionToken = 1307;

    /// <summary>Warning: the member key is held by another session (a Patroni node of the same name?) and could not be taken over.</summary>
    public const int MemberKeyHeldElsewhere = 1308;

    /// <summary>The node's service was registered with the agent, or its registration changed.</summary>
    public const int ServiceRegistered = 1309;

    /// <summary>The node's service was removed from the agent (PostgreSQL stopped).</summary>
    public const int ServiceDeregistered = 1310;

    /// <summary>Registering the service failed; retried on the next touch.</summary>
    public const int ServiceRegistrationFailed = 1311;
}

internal static partial class Log
{
    [LoggerMessage(EventId = ConsulDcsEventId.Created, EventName = "Created", Level = LogLevel.Debug,
        Message = "Consul DCS connection for member {Member} of {Prefix} at {Agent}")]
    public static partial void Created(ILogger logger, string member, string prefix, Uri agent);

    [LoggerMessage(EventId = ConsulDcsEventId.SessionCreated, EventName = "SessionCreated", Level = LogLevel.Debug,
        Message = "created Consul session {Session} with a TTL of {Ttl} for member {Member}")]
    public static partial void SessionCreated(ILogger logger, string session, string ttl, string member);

    [LoggerMessage(EventId = ConsulDcsEventId.SessionLost, EventName = "SessionLost", Level = LogLevel.Warning,
        Message = "Consul session {Session} of member {Member} is gone (invalidated or destroyed), and the keys it held with it; creating a new one")]
    public static partial void SessionLost(ILogger logger, string session, string member);

    [LoggerMessage(EventId = ConsulDcsEventId.SessionTtlChanged, EventName = "SessionTtlChanged", Level = LogLevel.Information,
        Message = "ttl changed: member {Member} takes a new Consul session with a TTL of {Ttl}, the old one ({Session}) is left to expire")]
    public static partial void SessionTtlChanged(ILogger logger, string member, string ttl, string session);

    [LoggerMessage(EventId = ConsulDcsEventId.LeaderKeyRebound, EventName = "LeaderKeyRebound", Level = LogLevel.Information,
        Message = "the leader key of {Member} was held by session {OldSession}; re-acquired with session {NewSession}")]
    public static partial void LeaderKeyRebound(ILogger logger, string member, string oldSession, string newSession);

    [LoggerMessage(EventId = ConsulDcsEventId.RequestFailed, EventName = "RequestFailed", Level = LogLevel.Debug,
        Message = "Consul at {Agent} failed to {Operation}: {Error}")]
    public static partial void RequestFailed(ILogger logger, Uri agent, string operation, string error);

    [LoggerMessage(EventId = ConsulDcsEventId.WatchFailed, EventName = "WatchFailed", Level = LogLevel.Debug,
        Message = "a blocking query at {Agent} failed: {Error}; retrying in {Delay}")]
    public static partial void WatchFailed(ILogger logger, Uri agent, string error, TimeSpan delay);

    [LoggerMessage(EventId = ConsulDcsEventId.ForeignVersionToken, EventName = "ForeignVersionToken", Level = LogLevel.Warning,
        Message = "version token '{Token}' of {Key} is not a Consul index; the compare-and-set cannot succeed")]
    public static partial void ForeignVersionToken(ILogger logger, string token, string key);

    [LoggerMessage(EventId = ConsulDcsEventId.MemberKeyHeldElsewhere, EventName = "MemberKeyHeldElsewhere", Level = LogLevel.Warning,
        Message = "the member key {Key} is held by another Consul session and could not be taken over; retrying on the next touch")]
    public static partial void MemberKeyHeldElsewhere(ILogger logger, string key);

    [LoggerMessage(EventId = ConsulDcsEventId.ServiceRegistered, EventName = "ServiceRegistered", Level = LogLevel.Information,
        Message = "registered service {Service} as {ServiceId} with tags [{Tags}], checked at {Check}")]
    public static partial void ServiceRegistered(ILogger logger, string service, string serviceId, string tags, string check);

    [LoggerMessage(EventId = ConsulDcsEventId.ServiceDeregistered, EventName = "ServiceDeregistered", Level = LogLevel.Information,
        Message = "deregistered service {ServiceId}: {Reason}")]
    public static partial void ServiceDeregistered(ILogger logger, string serviceId, string reason);

    [LoggerMessage(EventId = ConsulDcsEventId.ServiceRegistrationFailed, EventName = "ServiceRegistrationFailed", Level = LogLevel.Warning,
        Message = "could not update the Consul service {ServiceId}: {Reason}; retrying on the next touch")]
    public static partial void ServiceRegistrationFailed(ILogger logger, string serviceId, string reason);
}
