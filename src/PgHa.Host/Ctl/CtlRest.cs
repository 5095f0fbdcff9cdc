using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Host.Configuration;

namespace PgHa.Host.Ctl;

/// <summary>A member's answer: HTTP status and body text.</summary>
/// <param name="Status">HTTP status code.</param>
/// <param name="Body">Body as text.</param>
public sealed record RestReply(int Status, string Body);

/// <summary>A member's REST API could not be reached (connection refused, TLS failure, timeout).</summary>
public sealed class MemberUnreachableException : Exception
{
    /// <summary>Creates the error.</summary>
    public MemberUnreachableException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the error.</summary>
    public MemberUnreachableException(string message) : base(message) { }

    /// <summary>Creates the error.</summary>
    public MemberUnreachableException() : base("member unreachable") { }
}

/// <summary>How <c>pgha ctl</c> calls a member's REST API (patronictl's <c>request_patroni</c>).</summary>
public interface ICtlRest
{
    /// <summary>
    /// Sends <paramref name="method"/> to <c>/&lt;endpoint&gt;</c> on the host of the member's <c>api_url</c>, with
    /// <paramref name="body"/> as JSON. Throws <see cref="MemberUnreachableException"/> when no HTTP answer comes back.
    /// </summary>
    Task<RestReply> SendAsync(Member member, HttpMethod method, string endpoint, JsonNode? body, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="ICtlRest"/> over HTTP(S): basic auth and TLS settings from <c>ctl</c>, falling back to <c>restapi</c>
/// (as patronictl's <c>PatroniRequest</c> does); <c>ctl.insecure</c> or <c>-k</c> skips server certificate checks.
/// </summary>
public sealed class HttpCtlRest : ICtlRest, IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Creates the client for <paramref name="config"/>.</summary>
    public HttpCtlRest(PgHaConfig config, bool insecure, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(config);
        var handler = RestClientSettings.CreateHandler(config, insecure);
        _http = new HttpClient(handler) { Timeout = timeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"pgha-ctl/{CtlVersion.Text}");
        if (RestClientSettings.Credentials(config) is { } auth)
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{auth.UserName}:{auth.Password}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
    }

    /// <summary>The URL of <paramref name="endpoint"/> on the member's REST API: scheme and host:port of <c>api_url</c>.</summary>
    public static Uri EndpointUrl(Member member, string endpoint)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (member.ApiUrl is null || !Uri.TryCreate(member.ApiUrl, UriKind.Absolute, out var api))
            throw new MemberUnreachableException($"member {member.Name} publishes no usable api_url ('{member.ApiUrl}')");
        return new Uri($"{api.Scheme}://{api.Authority}/{endpoint}");
    }

    /// <inheritdoc />
    public async Task<RestReply> SendAsync(Member member, HttpMethod method, string endpoint, JsonNode? body, CancellationToken cancellationToken)
    {
        var url = EndpointUrl(member, endpoint);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(PatroniJson.SerializeSpaced(body), Encoding.UTF8, "application/json");
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new RestReply((int)response.StatusCode, text);
        }
        catch (HttpRequestException ex)
        {
            throw new MemberUnreachableException($"cannot reach {member.Name} at {url}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MemberUnreachableException($"{member.Name} at {url} did not answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
