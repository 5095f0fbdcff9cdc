namespace PgHa.Loop;

/// <summary>A node's side of <c>POST /failsafe</c>: a leader running without the DCS asks it to confirm.</summary>
public interface IFailsafeReceiver
{
    /// <summary>
    /// Accepts the leader's request, promising not to race for the lock or promote for ttl from now; or refuses it
    /// (failsafe mode off, or this node runs as a primary, holds the lock or is promoting).
    /// </summary>
    FailsafeAnswer AcceptFailsafe(FailsafePing ping);
}

/// <summary>The body of <c>POST /failsafe</c> (Patroni's <c>name</c>, <c>conn_url</c>, <c>api_url</c>; <c>slots</c> is not used).</summary>
/// <param name="Name">The leader's member name.</param>
/// <param name="ConnUrl">Its PostgreSQL connection URL.</param>
/// <param name="ApiUrl">Its REST API URL.</param>
public sealed record FailsafePing(string Name, string ConnUrl, string ApiUrl);

/// <summary>The answer to <c>POST /failsafe</c>, with Patroni's status codes and texts.</summary>
/// <param name="Status">200 accepted, 500 refused, 502 failsafe mode off.</param>
/// <param name="Message"><c>Accepted</c>, or why not.</param>
public readonly record struct FailsafeAnswer(int Status, string Message)
{
    /// <summary>Confirmed (200 <c>Accepted</c>, the only answer a leader counts).</summary>
    public static FailsafeAnswer Accepted => new(200, "Accepted");

    /// <summary>Failsafe mode is off on this node (502, as Patroni).</summary>
    public static FailsafeAnswer Disabled => new(502, "failsafe_mode is not enabled");

    /// <summary>Refused (500): Patroni's "Running as a leader", or PgHa's stricter reasons.</summary>
    public static FailsafeAnswer Refused(string why) => new(500, why);

    /// <summary>True for <see cref="Accepted"/>.</summary>
    public bool IsAccepted => Status == 200;
}
