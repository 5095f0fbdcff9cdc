namespace PgHa.Dcs.Consul.Client;

/// <summary>Consul answered a request with an error status (other than the 404s the client turns into results).</summary>
public sealed class ConsulApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConsulApiException() : base("Consul refused the request.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ConsulApiException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ConsulApiException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for an answer.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="body">Consul's plain-text error body.</param>
    /// <param name="request">The request, for the message (method and path, no query values).</param>
    public ConsulApiException(int statusCode, string body, string request)
        : base($"Consul answered {statusCode} to {request}: {body.Trim()}")
    {
        StatusCode = statusCode;
        Body = body;
    }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>Consul's error body.</summary>
    public string Body { get; } = "";

    /// <summary>Consul refused an <c>acquire</c> because the session does not exist (any more): 500 "invalid session".</summary>
    public bool IsInvalidSession => StatusCode == 500 && Body.StartsWith("invalid session", StringComparison.OrdinalIgnoreCase);

    /// <summary>Consul refused the session TTL (below its <c>session_ttl_min</c> or above 24 h): 500 "Invalid Session TTL".</summary>
    public bool IsInvalidSessionTtl => StatusCode == 500 && Body.StartsWith("Invalid Session TTL", StringComparison.OrdinalIgnoreCase);
}
