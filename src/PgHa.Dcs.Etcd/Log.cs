using Microsoft.Extensions.Logging;

namespace PgHa.Dcs.Etcd;

/// <summary>
/// Stable event ids of the etcd adapter's log events: 1100–1199, inside PgHa's DCS range (1xxx). The HA loop logs the
/// outcome of each DCS operation itself (<c>PgHaEventId</c> 1001–1003, 2002–2004); these events add what only the
/// adapter knows — its etcd lease and its watch.
/// </summary>
public static class EtcdDcsEventId
{
    /// <summary>Debug: the connection was created (endpoints, cluster prefix, member). No I/O happens before the first operation.</summary>
    public const int Created = 1100;

    /// <summary>Debug: a new etcd lease was granted for this node (first use, after the old one was lost, or after a TTL change).</summary>
    public const int LeaseGranted = 1101;

    /// <summary>
    /// Warning: this node's lease is gone (it expired or was revoked), and with it every key bound to it — the member key
    /// and, if this node held it, the leader lock. A new lease is granted.
    /// </summary>
    public const int LeaseLost = 1102;

    /// <summary>Information: the TTL changed, so a new lease with the new TTL replaces the old one (which is left to expire).</summary>
    public const int LeaseTtlChanged = 1103;

    /// <summary>Information: the leader key held this member's name under another lease (an older lease of this node, or a Patroni node of the same name) and was re-bound to this node's lease.</summary>
    public const int LeaderKeyRebound = 1104;

    /// <summary>Debug: an etcd request failed or timed out; the operation throws <see cref="DcsUnavailableException"/>.</summary>
    public const int RequestFailed = 1105;

    /// <summary>Debug: the watch stream failed (etcd unreachable or restarting, or the connection restarted it after a failed request); it is re-created after a pause.</summary>
    public const int WatchFailed = 1106;

    /// <summary>Warning: a compare-and-set was given a version token that is not an etcd revision, so its condition cannot hold.</summary>
    public const int ForeignVersionToken = 1107;

    /// <summary>Debug: etcd confirmed the connection's watch of the cluster prefix (first start or re-creation) from a revision on.</summary>
    public const int WatchStarted = 1108;

    /// <summary>Information: the watch's start revision was compacted, so events may have been missed: waiters are woken and the cluster is read again.</summary>
    public const int WatchCompacted = 1109;

    /// <summary>Debug: the watch did not deliver this connection's own write in time; the load reads from etcd and the watch is re-created.</summary>
    public const int OwnWriteNotDelivered = 1110;

    /// <summary>Warning: etcd answered a revision older than one it had answered before — restored from a backup? The cached cluster is replaced and the watch re-created.</summary>
    public const int StoreWentBack = 1111;
}

internal static partial class Log
{
    [LoggerMessage(EventId = EtcdDcsEventId.Created, EventName = "Created", Level = LogLevel.Debug,
        Message = "etcd DCS connection for member {Member} of {Prefix} at {Endpoints}")]
    public static partial void Created(ILogger logger, string member, string prefix, string endpoints);

    [LoggerMessage(EventId = EtcdDcsEventId.LeaseGranted, EventName = "LeaseGranted", Level = LogLevel.Debug,
        Message = "granted etcd lease {LeaseId} with a TTL of {TtlSeconds} s to member {Member}")]
    public static partial void LeaseGranted(ILogger logger, long leaseId, long ttlSeconds, string member);

    [LoggerMessage(EventId = EtcdDcsEventId.LeaseLost, EventName = "LeaseLost", Level = LogLevel.Warning,
        Message = "etcd lease {LeaseId} of member {Member} is gone (expired or revoked), and the keys bound to it with it; granting a new one")]
    public static partial void LeaseLost(ILogger logger, long leaseId, string member);

    [LoggerMessage(EventId = EtcdDcsEventId.LeaseTtlChanged, EventName = "LeaseTtlChanged", Level = LogLevel.Information,
        Message = "ttl changed from {OldSeconds} s to {NewSeconds} s: member {Member} takes a new etcd lease, the old one ({LeaseId}) is left to expire")]
    public static partial void LeaseTtlChanged(ILogger logger, long oldSeconds, long newSeconds, string member, long leaseId);

    [LoggerMessage(EventId = EtcdDcsEventId.LeaderKeyRebound, EventName = "LeaderKeyRebound", Level = LogLevel.Information,
        Message = "the leader key of {Member} was bound to lease {OldLease}; re-bound to lease {NewLease}")]
    public static partial void LeaderKeyRebound(ILogger logger, string member, string oldLease, long newLease);

    [LoggerMessage(EventId = EtcdDcsEventId.RequestFailed, EventName = "RequestFailed", Level = LogLevel.Debug,
        Message = "etcd at {Endpoints} failed to {Operation}: {Error}")]
    public static partial void RequestFailed(ILogger logger, string endpoints, string operation, string error);

    [LoggerMessage(EventId = EtcdDcsEventId.WatchFailed, EventName = "WatchFailed", Level = LogLevel.Debug,
        Message = "the watch of etcd at {Endpoints} ended: {Error}; re-creating it in {Delay}")]
    public static partial void WatchFailed(ILogger logger, string endpoints, string error, TimeSpan delay);

    [LoggerMessage(EventId = EtcdDcsEventId.ForeignVersionToken, EventName = "ForeignVersionToken", Level = LogLevel.Warning,
        Message = "version token '{Token}' of {Key} is not an etcd revision; the compare-and-set cannot succeed")]
    public static partial void ForeignVersionToken(ILogger logger, string token, string key);

    [LoggerMessage(EventId = EtcdDcsEventId.WatchStarted, EventName = "WatchStarted", Level = LogLevel.Debug,
        Message = "watching {Prefix} from revision {Revision}")]
    public static partial void WatchStarted(ILogger logger, string prefix, long revision);

    [LoggerMessage(EventId = EtcdDcsEventId.WatchCompacted, EventName = "WatchCompacted", Level = LogLevel.Information,
        Message = "the watch of {Prefix} from revision {Start} was refused: etcd compacted its history up to {CompactRevision}; reading the cluster again")]
    public static partial void WatchCompacted(ILogger logger, string prefix, long start, long compactRevision);

    [LoggerMessage(EventId = EtcdDcsEventId.OwnWriteNotDelivered, EventName = "OwnWriteNotDelivered", Level = LogLevel.Debug,
        Message = "the watch did not deliver this connection's write at revision {Revision} within {Wait}; reading from etcd and re-creating the watch")]
    public static partial void OwnWriteNotDelivered(ILogger logger, long revision, TimeSpan wait);

    [LoggerMessage(EventId = EtcdDcsEventId.StoreWentBack, EventName = "StoreWentBack", Level = LogLevel.Warning,
        Message = "etcd at {Endpoints} answered revision {Revision}, older than revision {Known} it had answered before (restored from a backup?); replacing the cached cluster and re-creating the watch")]
    public static partial void StoreWentBack(ILogger logger, string endpoints, long revision, long known);
}
