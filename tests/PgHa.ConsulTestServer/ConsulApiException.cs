namespace PgHa.ConsulTestServer;

/// <summary>A request Consul refuses: the HTTP status and the plain-text body Consul answers with.</summary>
public sealed class ConsulApiException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; } = statusCode;
}
