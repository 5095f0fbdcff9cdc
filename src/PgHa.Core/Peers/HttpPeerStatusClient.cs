using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Logging;
using PgHa.Loop;

namespace PgHa.Peers;

/// <summary>
/// Asks peers' REST API (<c>GET &lt;api_url&gt;</c>, which is Patroni's <c>/patroni</c>) during the leader race. A peer that
/// does not answer in time, answers with an error, or answers garbage is reported unreachable — never an exception —
/// and the race ignores it, as Patroni does.
/// </summary>
public sealed partial class HttpPeerStatusClient(HttpClient http, TimeProvider timeProvider, ILogger<HttpPeerStatusClient>? logger = null) : IPeerStatusClient
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>
    /// HTTP Basic credentials sent with every call to a peer (Patroni's daemon sends <c>ctl.authentication</c>, else
    /// <c>restapi.authentication</c>, on all its REST requests); peers that protect their unsafe endpoints refuse a
    /// <c>POST /failsafe</c> without them. Null: no <c>Authorization</c> header.
    /// </summary>
    public NetworkCredential? Credentials { get; init; }

    /// <inheritdoc />
    public async Task<PeerStatus> GetStatusAsync(Member member, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (member.ApiUrl is null || !Uri.TryCreate(member.ApiUrl, UriKind.Absolute, out var url))
            return PeerStatus.Unreachable(member.Name);
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using var request = Request(HttpMethod.Get, url);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            // Health-style answers (503 for a replica on /patroni in old versions) still carry the status document.
            var body = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
            return PatroniStatusReader.Read(member.Name, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.PeerUnreachable(_logger, member.Name, "no answer within " + timeout.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s");
            return PeerStatus.Unreachable(member.Name);
        }
        catch (HttpRequestException ex)
        {
            Log.PeerUnreachable(_logger, member.Name, ex.Message);
            return PeerStatus.Unreachable(member.Name);
        }
    }

    private HttpRequestMessage Request(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        if (Credentials is { } credentials)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.UserName + ":" + credentials.Password)));
        return request;
    }
}
