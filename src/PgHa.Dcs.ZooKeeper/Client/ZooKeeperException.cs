using System.Globalization;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>
/// A ZooKeeper request failed with an error code: the server refused it (<see cref="ZooKeeperErrorCode.NoNode"/>,
/// <see cref="ZooKeeperErrorCode.BadVersion"/>, …), the session is gone (<see cref="ZooKeeperErrorCode.SessionExpired"/>),
/// or the connection was lost before the answer came (<see cref="ZooKeeperErrorCode.ConnectionLoss"/>: the outcome of a
/// write is then unknown). The message names the code, what it means, the operation and the path.
/// </summary>
internal class ZooKeeperException : Exception
{
    public ZooKeeperException(ZooKeeperErrorCode code, string? path, string? detail = null, Exception? inner = null)
        : base(Describe(code, path, detail), inner)
    {
        Code = code;
        Path = path;
    }

    public ZooKeeperErrorCode Code { get; }

    /// <summary>The znode the failed request named, if any.</summary>
    public string? Path { get; }

    /// <summary>Whether the session is intact and the request can be sent again on a new connection.</summary>
    public bool IsConnectionProblem => Code is ZooKeeperErrorCode.ConnectionLoss or ZooKeeperErrorCode.OperationTimeout
        or ZooKeeperErrorCode.SessionMoved or ZooKeeperErrorCode.RequestTimeout or ZooKeeperErrorCode.Throttled;

    /// <summary>What the code means, in a few words.</summary>
    public static string Meaning(ZooKeeperErrorCode code) => code switch
    {
        ZooKeeperErrorCode.Ok => "no error",
        ZooKeeperErrorCode.SystemError => "system error on the server",
        ZooKeeperErrorCode.RuntimeInconsistency => "runtime inconsistency on the server",
        ZooKeeperErrorCode.DataInconsistency => "data inconsistency on the server",
        ZooKeeperErrorCode.ConnectionLoss => "the connection to the server was lost before the answer came",
        ZooKeeperErrorCode.MarshallingError => "the request could not be (un)marshalled",
        ZooKeeperErrorCode.Unimplemented => "the server does not implement this operation",
        ZooKeeperErrorCode.OperationTimeout => "the operation timed out",
        ZooKeeperErrorCode.BadArguments => "invalid arguments",
        ZooKeeperErrorCode.UnknownSession => "the server does not know the session",
        ZooKeeperErrorCode.NewConfigNoQuorum => "the new configuration has no quorum",
        ZooKeeperErrorCode.ReconfigInProgress => "a reconfiguration is in progress",
        ZooKeeperErrorCode.ApiError => "API error",
        ZooKeeperErrorCode.NoNode => "the znode does not exist",
        ZooKeeperErrorCode.NoAuth => "not authorized (the znode's ACL denies this session)",
        ZooKeeperErrorCode.BadVersion => "the znode's version is not the one expected",
        ZooKeeperErrorCode.NoChildrenForEphemerals => "ephemeral znodes cannot have children",
        ZooKeeperErrorCode.NodeExists => "the znode already exists",
        ZooKeeperErrorCode.NotEmpty => "the znode has children",
        ZooKeeperErrorCode.SessionExpired => "the session has expired (its ephemeral znodes are gone)",
        ZooKeeperErrorCode.InvalidCallback => "invalid callback",
        ZooKeeperErrorCode.InvalidAcl => "invalid ACL",
        ZooKeeperErrorCode.AuthFailed => "authentication failed",
        ZooKeeperErrorCode.SessionMoved => "the session moved to another server",
        ZooKeeperErrorCode.NotReadOnly => "a read-only server cannot perform writes",
        ZooKeeperErrorCode.EphemeralOnLocalSession => "ephemeral znodes cannot be created by a local session",
        ZooKeeperErrorCode.NoWatcher => "no such watch",
        ZooKeeperErrorCode.RequestTimeout => "the request timed out on the server",
        ZooKeeperErrorCode.ReconfigDisabled => "reconfiguration is disabled",
        ZooKeeperErrorCode.SessionClosedRequireSaslAuth => "the session was closed: the server requires SASL authentication",
        ZooKeeperErrorCode.QuotaExceeded => "a quota was exceeded",
        ZooKeeperErrorCode.Throttled => "the server throttled the request",
        _ => "unknown error code",
    };

    private static string Describe(ZooKeeperErrorCode code, string? path, string? detail)
    {
        var text = $"ZooKeeper error {code} ({((int)code).ToString(CultureInfo.InvariantCulture)}): {Meaning(code)}";
        if (path is not null) text += $" [{path}]";
        if (!string.IsNullOrEmpty(detail)) text += $"; {detail}";
        return text;
    }
}

/// <summary>The server sent something this client cannot parse; the connection is dropped.</summary>
internal sealed class ZooKeeperProtocolException : Exception
{
    public ZooKeeperProtocolException(string message) : base("ZooKeeper protocol error: " + message) { }
}
