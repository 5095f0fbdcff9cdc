using Microsoft.Extensions.Logging;

namespace PgHa.Dcs.ZooKeeper;

/// <summary>
/// Stable event ids of the ZooKeeper adapter's log events: 1200–1299, inside PgHa's DCS range (1xxx). The HA loop logs
/// the outcome of each DCS operation itself; these events add what only the adapter knows — its ZooKeeper session and
/// connection.
/// </summary>
public static class ZooKeeperDcsEventId
{
    /// <summary>Debug: the connection was created (hosts, cluster path, member). No I/O happens before the first operation.</summary>
    public const int Created = 1200;

    /// <summary>Information: a new ZooKeeper session was created (first use, or after the previous one expired), with the timeout the server granted.</summary>
    public const int SessionCreated = 1201;

    /// <summary>
    /// Warning: this node's session expired — the server deleted its ephemeral znodes, the member key and, if this node
    /// held it, the leader lock. The next operation creates a new session.
    /// </summary>
    public const int SessionExpired = 1202;

    /// <summary>Debug: the session was re-established on a new connection (possibly to another server of the ensemble).</summary>
    public const int SessionResumed = 1203;

    /// <summary>Debug: the connection to a server was lost; the session lives on until it expires and is re-established by the next operation.</summary>
    public const int ConnectionLost = 1204;

    /// <summary>Debug: connecting to one server failed; the next server is tried.</summary>
    public const int ConnectFailed = 1205;

    /// <summary>Debug: the watches of the session were set again on a new connection.</summary>
    public const int WatchesRestored = 1206;

    /// <summary>Debug: a ZooKeeper request failed or timed out; the operation throws <see cref="DcsUnavailableException"/>.</summary>
    public const int RequestFailed = 1207;

    /// <summary>Warning: the server granted a session timeout other than the ttl asked for; keys live for the granted timeout.</summary>
    public const int TimeoutNegotiatedAway = 1208;

    /// <summary>Information: the ttl changed while this node holds no lock, so its session is replaced by one with the new timeout.</summary>
    public const int SessionRestartedForTtl = 1209;

    /// <summary>Warning: a compare-and-set was given a version token this adapter did not produce, so its condition cannot hold.</summary>
    public const int ForeignVersionToken = 1210;

    /// <summary>Warning: a watch handler threw; the exception is ignored.</summary>
    public const int WatchHandlerFailed = 1211;

    /// <summary>
    /// Information: the leader znode held this member's name but belonged to another session (this node's before a
    /// quick restart, or a Patroni node of the same name); it was deleted and created again under this node's session.
    /// </summary>
    public const int LeaderZnodeRecreated = 1212;
}

internal static partial class Log
{
    [LoggerMessage(EventId = ZooKeeperDcsEventId.Created, EventName = "Created", Level = LogLevel.Debug,
        Message = "ZooKeeper DCS connection for member {Member} of {Path} at {Hosts}")]
    public static partial void Created(ILogger logger, string member, string path, string hosts);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.SessionCreated, EventName = "SessionCreated", Level = LogLevel.Information,
        Message = "ZooKeeper session 0x{SessionId:x} created on {Host}:{Port} with a timeout of {Timeout}")]
    public static partial void SessionCreated(ILogger logger, long sessionId, TimeSpan timeout, string host, int port);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.SessionExpired, EventName = "SessionExpired", Level = LogLevel.Warning,
        Message = "ZooKeeper session 0x{SessionId:x} expired ({Host}:{Port} refused it): its ephemeral znodes are gone; a new session is created")]
    public static partial void SessionExpired(ILogger logger, long sessionId, string host, int port);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.SessionResumed, EventName = "SessionResumed", Level = LogLevel.Debug,
        Message = "ZooKeeper session 0x{SessionId:x} re-established on {Host}:{Port}")]
    public static partial void SessionResumed(ILogger logger, long sessionId, string host, int port);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.ConnectionLost, EventName = "ConnectionLost", Level = LogLevel.Debug,
        Message = "lost the connection to ZooKeeper at {Host}:{Port}: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string host, int port, string reason);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.ConnectFailed, EventName = "ConnectFailed", Level = LogLevel.Debug,
        Message = "could not connect to ZooKeeper at {Host}:{Port}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string host, int port, string reason);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.WatchesRestored, EventName = "WatchesRestored", Level = LogLevel.Debug,
        Message = "re-set {Count} watches on {Host}:{Port}")]
    public static partial void WatchesRestored(ILogger logger, int count, string host, int port);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.RequestFailed, EventName = "RequestFailed", Level = LogLevel.Debug,
        Message = "ZooKeeper at {Hosts} failed to {Operation}: {Error}")]
    public static partial void RequestFailed(ILogger logger, string hosts, string operation, string error);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.TimeoutNegotiatedAway, EventName = "TimeoutNegotiatedAway", Level = LogLevel.Warning,
        Message = "asked ZooKeeper for a session timeout of {Asked} (the ttl), the server granted {Granted}: check its minSessionTimeout/maxSessionTimeout")]
    public static partial void TimeoutNegotiatedAway(ILogger logger, TimeSpan asked, TimeSpan granted);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.SessionRestartedForTtl, EventName = "SessionRestartedForTtl", Level = LogLevel.Information,
        Message = "ttl changed from {Old} to {New}: member {Member} replaces its ZooKeeper session")]
    public static partial void SessionRestartedForTtl(ILogger logger, TimeSpan old, TimeSpan @new, string member);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.ForeignVersionToken, EventName = "ForeignVersionToken", Level = LogLevel.Warning,
        Message = "version token '{Token}' of {Key} was not produced by the ZooKeeper adapter; the compare-and-set cannot succeed")]
    public static partial void ForeignVersionToken(ILogger logger, string token, string key);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.WatchHandlerFailed, EventName = "WatchHandlerFailed", Level = LogLevel.Warning,
        Message = "a watch handler for {Path} threw: {Error}")]
    public static partial void WatchHandlerFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = ZooKeeperDcsEventId.LeaderZnodeRecreated, EventName = "LeaderZnodeRecreated", Level = LogLevel.Information,
        Message = "the leader znode held member {Member}'s name under session 0x{OldSession:x}: re-created it under session 0x{Session:x}")]
    public static partial void LeaderZnodeRecreated(ILogger logger, string member, long oldSession, long session);
}
