using System.Text;
using System.Text.Json;
using PgHa.Logging;
using PgHa.Loop;

namespace PgHa.Peers;

public sealed partial class HttpPeerStatusClient : IFailsafePeerClient
{
    /// <inheritdoc />
    public async Task<bool> ConfirmFailsafeAsync(string member, string apiUrl, FailsafePing ping, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ping);
        // Patroni sends to the api_url's scheme and authority with the endpoint as the whole path.
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var api) || !Uri.TryCreate(api, "/failsafe", out var url))
        {
            FailsafeLog.MemberRefused(_logger, member, $"api_url '{apiUrl}' is not an absolute URL");
            return false;
        }
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using var request = Request(HttpMethod.Post, url);
            request.Content = new StringContent(Body(ping), Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request, linked.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
            if ((int)response.StatusCode == 200 && text == "Accepted") return true;
            FailsafeLog.MemberRefused(_logger, member, $"answered {(int)response.StatusCode} '{Truncate(text)}'");
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            FailsafeLog.MemberRefused(_logger, member, "no answer within " + timeout.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s");
            return false;
        }
        catch (HttpRequestException ex)
        {
            FailsafeLog.MemberRefused(_logger, member, ex.Message);
            return false;
        }
    }

    private static string Body(FailsafePing ping)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", ping.Name);
            json.WriteString("conn_url", ping.ConnUrl);
            json.WriteString("api_url", ping.ApiUrl);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
