namespace PgHa.Dcs.Etcd;

/// <summary>
/// etcd answered a request with an error: the gRPC status code and message its gateway passed on (an HTTP error
/// status with <c>{"error", "message", "code"}</c>, or an <c>{"error": {...}}</c> message on a stream).
/// </summary>
internal sealed class EtcdGatewayException : Exception
{
    // The gRPC status codes the adapter tells apart.
    public const int Unknown = 2;
    public const int NotFound = 5;
    public const int FailedPrecondition = 9;
    public const int Internal = 13;
    public const int Unavailable = 14;
    public const int Unauthenticated = 16;

    public EtcdGatewayException(int code, string detail)
        : base($"etcd answered code {code}: {detail}")
    {
        Code = code;
        Detail = detail;
    }

    /// <summary>The gRPC status code (<c>codes.Code</c>).</summary>
    public int Code { get; }

    /// <summary>etcd's message, for example <c>etcdserver: requested lease not found</c>.</summary>
    public string Detail { get; }

    /// <summary>Whether etcd may answer differently a moment later (no leader, overloaded, a transient internal error).</summary>
    public bool IsRetryable => Code is Unavailable or Internal or Unknown;

    public bool IsLeaseNotFound => Code == NotFound && Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase);

    public bool IsInvalidAuthToken => Detail.Contains("invalid auth token", StringComparison.OrdinalIgnoreCase);
}
