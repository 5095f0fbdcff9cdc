using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace PgHa.Dcs.Consul.Client;

/// <summary>
/// A small client of Consul's HTTP API over <see cref="HttpClient"/>: sessions, the KV store (with
/// <c>acquire</c>/<c>release</c>/<c>cas</c>), blocking queries and agent service registration — what Patroni's Consul
/// layout needs, nothing more.
/// </summary>
/// <remarks>
/// Every method takes a token and has no deadline of its own: the caller bounds it. Transport failures surface as
/// <see cref="HttpRequestException"/> (or <see cref="IOException"/>), an error answer as
/// <see cref="ConsulApiException"/>; the 404s that are answers (key absent, session gone) are results. Thread-safe.
/// </remarks>
public sealed class ConsulClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;
    private readonly ConsulClientOptions _options;

    /// <summary>Creates the client; no I/O happens here.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> do not validate.</exception>
    public ConsulClient(ConsulClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException("Invalid Consul client options: " + string.Join(" ", problems), nameof(options));
        _options = options;
        _http = new HttpClient(CreateHandler(options), disposeHandler: true)
        {
            BaseAddress = options.Address,
            // Callers bound every request with their token (blocking queries last as long as their wait).
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The agent's base URL.</summary>
    public Uri Address => _options.Address!;

    // -----------------------------------------------------------------------------------------------------------------
    // Sessions

    /// <summary>Creates a session (<c>PUT /v1/session/create</c>) and returns its id.</summary>
    public async Task<string> CreateSessionAsync(ConsulSessionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("Name", request.Name);
            if (request.Ttl > TimeSpan.Zero) w.WriteString("TTL", FormatDuration(request.Ttl));
            w.WriteString("LockDelay", FormatDuration(request.LockDelay));
            w.WriteString("Behavior", request.Behavior == ConsulSessionBehavior.Delete ? "delete" : "release");
            // An explicit list, even empty: without it Consul binds the session to the node's serfHealth check.
            w.WriteStartArray("Checks");
            foreach (var check in request.Checks) w.WriteStringValue(check);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var response = await SendAsync(HttpMethod.Put, "/v1/session/create", Query(withDc: true), body, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "PUT /v1/session/create", cancellationToken).ConfigureAwait(false);
        using var document = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("ID", out var id) && id.GetString() is { Length: > 0 } value)
            return value;
        throw new ConsulApiException((int)response.StatusCode, "the answer carries no session ID", "PUT /v1/session/create");
    }

    /// <summary>Renews a session's TTL (<c>PUT /v1/session/renew/:id</c>); false when the session no longer exists (404).</summary>
    public async Task<bool> RenewSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        using var response = await SendAsync(HttpMethod.Put, "/v1/session/renew/" + Uri.EscapeDataString(sessionId), Query(withDc: true), null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(response, "PUT /v1/session/renew", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Destroys a session (<c>PUT /v1/session/destroy/:id</c>): its keys are released or deleted as its behavior says.</summary>
    public async Task DestroySessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        using var response = await SendAsync(HttpMethod.Put, "/v1/session/destroy/" + Uri.EscapeDataString(sessionId), Query(withDc: true), null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "PUT /v1/session/destroy", cancellationToken).ConfigureAwait(false);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // KV

    /// <summary>Reads one key (<c>GET /v1/kv/:key</c>); the value is null when the key does not exist.</summary>
    /// <param name="key">The key, without a leading slash.</param>
    /// <param name="consistency">Overrides <see cref="ConsulClientOptions.Consistency"/> when given.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<ConsulQueryResult<ConsulKvPair?>> GetAsync(string key, ConsulConsistency? consistency, CancellationToken cancellationToken)
    {
        var result = await ReadAsync(key, recurse: false, consistency, index: 0, wait: null, cancellationToken).ConfigureAwait(false);
        return new ConsulQueryResult<ConsulKvPair?>(result.Value.Count > 0 ? result.Value[0] : null, result.Index, result.KnownLeader);
    }

    /// <summary>
    /// Reads every key starting with <paramref name="prefix"/> (<c>GET /v1/kv/:prefix?recurse</c>); empty when there is
    /// none. With <paramref name="index"/> above 0 this is a blocking query: Consul answers once the result's index
    /// exceeds it, or after <paramref name="wait"/> (plus up to <c>wait/16</c>) with the unchanged result.
    /// </summary>
    public Task<ConsulQueryResult<IReadOnlyList<ConsulKvPair>>> ListAsync(string prefix, ConsulConsistency? consistency, ulong index, TimeSpan? wait, CancellationToken cancellationToken) =>
        ReadAsync(prefix, recurse: true, consistency, index, wait, cancellationToken);

    /// <summary>A blocking read of one key: answers when its index exceeds <paramref name="index"/>, or after <paramref name="wait"/>.</summary>
    public async Task<ConsulQueryResult<ConsulKvPair?>> WatchAsync(string key, ulong index, TimeSpan wait, CancellationToken cancellationToken)
    {
        var result = await ReadAsync(key, recurse: false, null, index, wait, cancellationToken).ConfigureAwait(false);
        return new ConsulQueryResult<ConsulKvPair?>(result.Value.Count > 0 ? result.Value[0] : null, result.Index, result.KnownLeader);
    }

    private async Task<ConsulQueryResult<IReadOnlyList<ConsulKvPair>>> ReadAsync(string key, bool recurse, ConsulConsistency? consistency, ulong index, TimeSpan? wait, CancellationToken cancellationToken)
    {
        var query = Query(withDc: true);
        if (recurse) query.Add("recurse");
        switch (consistency ?? _options.Consistency)
        {
            case ConsulConsistency.Consistent: query.Add("consistent"); break;
            case ConsulConsistency.Stale: query.Add("stale"); break;
            default: break;
        }
        if (index > 0)
        {
            query.Add("index=" + index.ToString(CultureInfo.InvariantCulture));
            if (wait is { } w) query.Add("wait=" + FormatWait(w));
        }
        using var response = await SendAsync(HttpMethod.Get, KvPath(key), query, null, cancellationToken).ConfigureAwait(false);
        var consulIndex = HeaderIndex(response);
        var knownLeader = !response.Headers.TryGetValues("X-Consul-KnownLeader", out var leader) || !leader.Contains("false");
        if (response.StatusCode == HttpStatusCode.NotFound) return new([], consulIndex, knownLeader);
        await EnsureSuccessAsync(response, "GET /v1/kv", cancellationToken).ConfigureAwait(false);
        using var document = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new ConsulApiException((int)response.StatusCode, "the answer is not a JSON array of keys", "GET /v1/kv");
        var pairs = new List<ConsulKvPair>(document.RootElement.GetArrayLength());
        foreach (var element in document.RootElement.EnumerateArray()) pairs.Add(ParsePair(element));
        return new(pairs, consulIndex, knownLeader);
    }

    /// <summary>
    /// Writes a key (<c>PUT /v1/kv/:key</c>). With <paramref name="cas"/> only if its ModifyIndex still is that (0:
    /// only if absent); with <paramref name="acquire"/> only if no other session holds it, then bound to that session;
    /// with <paramref name="release"/> only if that session holds it, then unbound. False when the condition fails.
    /// </summary>
    /// <exception cref="ConsulApiException">For example 500 "invalid session" (<see cref="ConsulApiException.IsInvalidSession"/>) when the acquiring session is gone.</exception>
    public async Task<bool> PutAsync(string key, byte[] value, ulong? cas, string? acquire, string? release, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        var query = Query(withDc: true);
        if (cas is { } c) query.Add("cas=" + c.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(acquire)) query.Add("acquire=" + Uri.EscapeDataString(acquire));
        if (!string.IsNullOrEmpty(release)) query.Add("release=" + Uri.EscapeDataString(release));
        using var content = new ByteArrayContent(value);
        using var response = await SendAsync(HttpMethod.Put, KvPath(key), query, content, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "PUT /v1/kv", cancellationToken).ConfigureAwait(false);
        return await ReadBoolAsync(response, "PUT /v1/kv", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes a key, or every key under a prefix with <paramref name="recurse"/> (<c>DELETE /v1/kv/:key</c>). With
    /// <paramref name="cas"/> only if its ModifyIndex still is that; false when it is not. Consul answers true for a
    /// key that does not exist.
    /// </summary>
    public async Task<bool> DeleteAsync(string key, ulong? cas, bool recurse, CancellationToken cancellationToken)
    {
        var query = Query(withDc: true);
        if (recurse) query.Add("recurse");
        if (cas is { } c) query.Add("cas=" + c.ToString(CultureInfo.InvariantCulture));
        using var response = await SendAsync(HttpMethod.Delete, KvPath(key), query, null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "DELETE /v1/kv", cancellationToken).ConfigureAwait(false);
        return await ReadBoolAsync(response, "DELETE /v1/kv", cancellationToken).ConfigureAwait(false);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Agent services

    /// <summary>Registers (or updates) a service with the agent (<c>PUT /v1/agent/service/register</c>).</summary>
    public async Task RegisterServiceAsync(ConsulServiceRegistration service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        var body = WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteString("ID", service.Id);
            w.WriteString("Name", service.Name);
            w.WriteString("Address", service.Address);
            w.WriteNumber("Port", service.Port);
            w.WriteStartArray("Tags");
            foreach (var tag in service.Tags) w.WriteStringValue(tag);
            w.WriteEndArray();
            if (service.CheckHttp is not null)
            {
                w.WriteStartObject("Check");
                w.WriteString("HTTP", service.CheckHttp);
                w.WriteString("Interval", FormatDuration(service.CheckInterval));
                w.WriteString("DeregisterCriticalServiceAfter", FormatDuration(service.DeregisterCriticalAfter));
                if (service.CheckTlsServerName is not null) w.WriteString("TLSServerName", service.CheckTlsServerName);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });
        using var response = await SendAsync(HttpMethod.Put, "/v1/agent/service/register", Query(withDc: false), body, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "PUT /v1/agent/service/register", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a service from the agent (<c>PUT /v1/agent/service/deregister/:id</c>); false when the agent did not have it.</summary>
    public async Task<bool> DeregisterServiceAsync(string serviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        using var response = await SendAsync(HttpMethod.Put, "/v1/agent/service/deregister/" + string.Join('/', serviceId.Split('/').Select(Uri.EscapeDataString)), Query(withDc: false), null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(response, "PUT /v1/agent/service/deregister", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Closes the connections.</summary>
    public void Dispose() => _http.Dispose();

    // -----------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// The index to block on after an answer with index <paramref name="answered"/>, following Consul's advice for
    /// blocking-query clients ("Blocking queries", implementation details): an index lower than the previous one (a
    /// restored or rebuilt datacenter) is reset to 0, so the next read answers at once; an answered index of 0, which
    /// would never block, is treated as 1.
    /// </summary>
    public static ulong NextBlockingIndex(ulong previous, ulong answered) => answered < previous ? 0 : Math.Max(answered, 1);

    private List<string> Query(bool withDc)
    {
        var query = new List<string>(4);
        if (withDc && !string.IsNullOrEmpty(_options.Datacenter)) query.Add("dc=" + Uri.EscapeDataString(_options.Datacenter));
        return query;
    }

    private static string KvPath(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // Each segment escaped, the slashes kept: keys are paths.
        return "/v1/kv/" + string.Join('/', key.Split('/').Select(Uri.EscapeDataString));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, List<string> query, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, query.Count == 0 ? path : path + "?" + string.Join('&', query)) { Content = content };
        if (!string.IsNullOrEmpty(_options.Token)) request.Headers.TryAddWithoutValidation("X-Consul-Token", _options.Token);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string request, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        throw new ConsulApiException((int)response.StatusCode, body, request);
    }

    private static async Task<bool> ReadBoolAsync(HttpResponseMessage response, string request, CancellationToken cancellationToken)
    {
        var text = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
        return text switch
        {
            "true" => true,
            "false" => false,
            _ => throw new ConsulApiException((int)response.StatusCode, $"expected true or false, got '{text}'", request),
        };
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static ulong HeaderIndex(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Consul-Index", out var values)
        && ulong.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : 0;

    private static ConsulKvPair ParsePair(JsonElement element)
    {
        string key = "";
        byte[] value = [];
        ulong flags = 0, create = 0, modify = 0, lockIndex = 0;
        string? session = null;
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "Key": key = property.Value.GetString() ?? ""; break;
                case "Value" when property.Value.ValueKind == JsonValueKind.String: value = property.Value.GetBytesFromBase64(); break;
                case "Flags": flags = property.Value.GetUInt64(); break;
                case "CreateIndex": create = property.Value.GetUInt64(); break;
                case "ModifyIndex": modify = property.Value.GetUInt64(); break;
                case "LockIndex": lockIndex = property.Value.GetUInt64(); break;
                case "Session" when property.Value.ValueKind == JsonValueKind.String: session = property.Value.GetString(); break;
                default: break;
            }
        }
        return new ConsulKvPair(key, value, flags, create, modify, lockIndex, string.IsNullOrEmpty(session) ? null : session);
    }

    private static ByteArrayContent WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = Json;
        return content;
    }

    /// <summary>A Consul duration string: seconds with up to millisecond precision (<c>15s</c>, <c>2.5s</c>, <c>0.001s</c>).</summary>
    internal static string FormatDuration(TimeSpan duration) =>
        Math.Round(duration.TotalSeconds, 3).ToString("0.###", CultureInfo.InvariantCulture) + "s";

    // A blocking query's wait in whole seconds, at least 1 (Consul's granularity is fine, but a 0 wait means its default 5 minutes).
    private static string FormatWait(TimeSpan wait) =>
        Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";

    private static SocketsHttpHandler CreateHandler(ConsulClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (options.Address!.Scheme != Uri.UriSchemeHttps) return handler;

        X509Certificate2Collection? trusted = null;
        if (!string.IsNullOrEmpty(options.CaCert))
        {
            trusted = [];
            trusted.ImportFromPemFile(options.CaCert);
        }
        var ssl = new SslClientAuthenticationOptions();
        if (!string.IsNullOrEmpty(options.Cert))
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(options.Cert, string.IsNullOrEmpty(options.Key) ? null : options.Key)];
        ssl.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            if (!options.Verify) return true;
            if (certificate is null) return false;
            if (trusted is null) return errors == SslPolicyErrors.None;
            if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
            using var server = new X509Certificate2(certificate);
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
                foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            return custom.Build(server);
        };
        handler.SslOptions = ssl;
        return handler;
    }

    internal static string Utf8(byte[] value) => Encoding.UTF8.GetString(value);
}
