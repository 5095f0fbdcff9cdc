using Microsoft.Extensions.Logging;
using PgHa.Host.Configuration;
using PgHa.Peers;

namespace PgHa.Host.Daemon;

/// <summary>
/// The agent's calls to its peers' REST APIs (<c>GET /patroni</c> in the leader race, <c>POST /failsafe</c> from a
/// leader cut off from the DCS), set up as Patroni's daemon sets up its own requests: the <c>ctl</c>/<c>restapi</c>
/// client certificate and Basic credentials, and no check of the peer's server certificate (Patroni creates that
/// client insecure, so a cluster whose REST APIs use a private CA keeps its leader race and failsafe working).
/// </summary>
internal static class PeerHttp
{
    /// <summary>The HTTP client for peer calls; the caller owns it.</summary>
    public static HttpClient CreateHttpClient(PgHaConfig config) => new(RestClientSettings.CreateHandler(config, insecure: true));

    /// <summary>The peer client over <paramref name="http"/>, sending the configured Basic credentials.</summary>
    public static HttpPeerStatusClient CreateClient(PgHaConfig config, HttpClient http, TimeProvider time, ILogger<HttpPeerStatusClient>? logger) =>
        new(http, time, logger) { Credentials = RestClientSettings.Credentials(config) };
}
