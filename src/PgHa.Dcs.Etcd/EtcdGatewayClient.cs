using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace PgHa.Dcs.Etcd;

/// <summary>
/// A small etcd v3 client over etcd's JSON gRPC gateway: HTTP/1.1 POSTs of JSON to <c>/v3/...</c> on the client port.
/// </summary>
/// <remarks>
/// <para>Why the gateway and not gRPC: a gRPC client (dotnet-etcd, Grpc.Net.Client, Google.Protobuf and the generated
/// etcd protos) adds about 3 MB to the native executable, nearly all of it resident in every agent, for the handful of
/// calls PgHa makes. The gateway is part of every etcd v3 server (3.3 on; PgHa's tests run 3.4), it forwards each call
/// to the server's own gRPC service — so etcd sees and counts the same requests — and it is the transport Patroni's
/// etcd3 client uses.</para>
/// <para>One <see cref="SocketsHttpHandler"/> pools the connections; a watch's streaming response keeps a connection of
/// its own while it runs. Requests go to one endpoint at a time; a request that fails without an answer from etcd (or
/// that etcd answers "unavailable") moves the next request to the next endpoint. With a user name the client
/// authenticates on first use, sends the token as <c>Authorization</c>, and authenticates once more when etcd calls the
/// token invalid (tokens expire). Thread-safe.</para>
/// </remarks>
internal sealed class EtcdGatewayClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly Uri[] _endpoints;
    private readonly string? _username;
    private readonly string? _password;
    private readonly SemaphoreSlim _authGate = new(1, 1);
    private int _current;
    private string? _token;

    /// <param name="endpoints">The etcd client URLs (http or https, all the same scheme).</param>
    /// <param name="connectTimeout">How long to wait for a TCP (and TLS) connection to one endpoint.</param>
    /// <param name="configureTls">Sets up client certificates and server certificate checks; null for http.</param>
    /// <param name="username">etcd user; null for no authentication.</param>
    /// <param name="password">The user's password.</param>
    public EtcdGatewayClient(IReadOnlyList<Uri> endpoints, TimeSpan connectTimeout, Action<SslClientAuthenticationOptions>? configureTls, string? username, string? password)
    {
        ArgumentOutOfRangeException.ThrowIfZero(endpoints.Count);
        _endpoints = [.. endpoints];
        _username = string.IsNullOrEmpty(username) ? null : username;
        _password = password;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            // Re-resolve host names now and then; an active watch keeps its connection regardless.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            // etcd is reached directly: a proxy from the environment would only add a hop that can hold a watch.
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = ConnectWithKeepAliveAsync,
        };
        configureTls?.Invoke(handler.SslOptions);
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // every call carries its own deadline in its token
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>The endpoints as <c>scheme://host:port</c>, comma-separated, for messages.</summary>
    public string Endpoints => string.Join(",", _endpoints.Select(u => u.GetLeftPart(UriPartial.Authority)));

    // ---------------------------------------------------------------------------------------------------------------
    // The calls PgHa makes

    public async Task<EtcdRangeResult> RangeAsync(string key, byte[]? rangeEnd, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/kv/range", w =>
        {
            EtcdGatewayJson.WriteKey(w, "key", key);
            if (rangeEnd is not null) w.WriteBase64String("range_end", rangeEnd);
        }, cancellationToken).ConfigureAwait(false);
        return EtcdGatewayJson.Range(response.RootElement);
    }

    /// <returns>The revision of the put.</returns>
    public async Task<long> PutAsync(string key, string value, long lease, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/kv/put", w =>
        {
            EtcdGatewayJson.WriteKey(w, "key", key);
            EtcdGatewayJson.WriteKey(w, "value", value);
            if (lease != 0) EtcdGatewayJson.WriteInt64(w, "lease", lease);
        }, cancellationToken).ConfigureAwait(false);
        return EtcdGatewayJson.Revision(response.RootElement);
    }

    /// <returns>The store revision and how many keys were deleted.</returns>
    public async Task<(long Revision, long Deleted)> DeleteRangeAsync(string key, byte[]? rangeEnd, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/kv/deleterange", w =>
        {
            EtcdGatewayJson.WriteKey(w, "key", key);
            if (rangeEnd is not null) w.WriteBase64String("range_end", rangeEnd);
        }, cancellationToken).ConfigureAwait(false);
        return (EtcdGatewayJson.Revision(response.RootElement), EtcdGatewayJson.Int64(response.RootElement, "deleted"));
    }

    public async Task<EtcdTxnResult> TxnAsync(IReadOnlyList<EtcdCompare> compare, IReadOnlyList<EtcdOp> success, IReadOnlyList<EtcdOp> failure, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/kv/txn", w =>
        {
            w.WriteStartArray("compare");
            foreach (var c in compare) EtcdGatewayJson.WriteCompare(w, c);
            w.WriteEndArray();
            w.WriteStartArray("success");
            foreach (var op in success) EtcdGatewayJson.WriteOp(w, op);
            w.WriteEndArray();
            w.WriteStartArray("failure");
            foreach (var op in failure) EtcdGatewayJson.WriteOp(w, op);
            w.WriteEndArray();
        }, cancellationToken).ConfigureAwait(false);
        return EtcdGatewayJson.Txn(response.RootElement);
    }

    /// <returns>The new lease's id and TTL in seconds.</returns>
    public async Task<(long Id, long Ttl)> LeaseGrantAsync(long ttlSeconds, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/lease/grant", w => EtcdGatewayJson.WriteInt64(w, "TTL", ttlSeconds), cancellationToken).ConfigureAwait(false);
        var root = response.RootElement;
        var error = EtcdGatewayJson.String(root, "error");
        if (error.Length > 0) throw new EtcdGatewayException(EtcdGatewayException.Unavailable, $"lease grant refused: {error}");
        return (EtcdGatewayJson.Int64(root, "ID"), EtcdGatewayJson.Int64(root, "TTL"));
    }

    /// <summary>
    /// One keep-alive: the gateway opens etcd's keep-alive stream, sends the one request of the body, and ends the stream
    /// after the answer, so this is one request and one message on etcd's side.
    /// </summary>
    /// <returns>The lease's remaining TTL in seconds; ≤ 0 when the lease is gone.</returns>
    public async Task<long> LeaseKeepAliveOnceAsync(long leaseId, CancellationToken cancellationToken)
    {
        using var response = await PostAsync("/v3/lease/keepalive", w => EtcdGatewayJson.WriteInt64(w, "ID", leaseId), cancellationToken).ConfigureAwait(false);
        var root = response.RootElement;
        if (!root.TryGetProperty("result", out var result))
            throw new EtcdGatewayException(EtcdGatewayException.Unavailable, "etcd closed the keep-alive stream without an answer");
        return EtcdGatewayJson.Int64(result, "TTL");
    }

    /// <summary>
    /// Opens a watch of <c>[key, rangeEnd)</c> from <paramref name="startRevision"/> on a connection of its own. With
    /// <paramref name="requireLeader"/> etcd ends the watch when its member loses the raft leader (gRPC metadata
    /// <c>hasleader</c>, which the gateway takes from the <c>Grpc-Metadata-hasleader</c> header).
    /// </summary>
    public async Task<EtcdWatchStream> WatchAsync(string key, byte[] rangeEnd, long startRevision, bool requireLeader, CancellationToken cancellationToken)
    {
        var body = Serialize(w =>
        {
            w.WriteStartObject("create_request");
            EtcdGatewayJson.WriteKey(w, "key", key);
            w.WriteBase64String("range_end", rangeEnd);
            EtcdGatewayJson.WriteInt64(w, "start_revision", startRevision);
            w.WriteEndObject();
        });
        var response = await SendAsync("/v3/watch", body, requireLeader, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            var stream = await response.Response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new EtcdWatchStream(this, response.Response, stream, response.Token);
        }
        catch
        {
            response.Response.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Requests

    /// <summary>
    /// One unary call: POSTs the JSON object <paramref name="body"/> writes to <paramref name="path"/> and returns etcd's
    /// answer (for a streaming call with a single request, the <c>{"result": ...}</c> it answered with).
    /// </summary>
    /// <exception cref="EtcdGatewayException">etcd answered with an error.</exception>
    /// <exception cref="HttpRequestException">No answer (connection refused or broken, TLS failure).</exception>
    public async Task<JsonDocument> PostAsync(string path, Action<Utf8JsonWriter> body, CancellationToken cancellationToken)
    {
        var payload = Serialize(body);
        using var sent = await SendAsync(path, payload, requireLeader: false, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var bytes = await sent.Response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var document = JsonDocument.Parse(bytes);
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var failure = StreamError(error);
            document.Dispose();
            throw failure;
        }
        return document;
    }

    /// <summary>A sent request with a successful (2xx) response, and the token it carried.</summary>
    private readonly record struct Sent(HttpResponseMessage Response, string? Token) : IDisposable
    {
        public void Dispose() => Response.Dispose();
    }

    private async Task<Sent> SendAsync(string path, byte[] payload, bool requireLeader, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var token = await TokenAsync(cancellationToken).ConfigureAwait(false);
            var index = Volatile.Read(ref _current);
            HttpResponseMessage? response = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoints[index], path));
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = Json;
                if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", token);
                if (requireLeader) request.Headers.TryAddWithoutValidation("Grpc-Metadata-hasleader", "true");
                response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return new Sent(response, token);
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                throw ErrorResponse(response.StatusCode, body);
            }
            catch (EtcdGatewayException ex) when (attempt == 1 && token is not null && ex.IsInvalidAuthToken)
            {
                response?.Dispose();
                InvalidateToken(token);
            }
            catch (Exception ex)
            {
                response?.Dispose();
                if (ex is not EtcdGatewayException { IsRetryable: false }) MoveOn(index);
                throw;
            }
        }
    }

    /// <summary>The next request goes to the endpoint after <paramref name="failed"/> (unless another failure moved on already).</summary>
    private void MoveOn(int failed)
    {
        if (_endpoints.Length > 1) Interlocked.CompareExchange(ref _current, (failed + 1) % _endpoints.Length, failed);
    }

    private static byte[] Serialize(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An error answer of the gateway: <c>{"error": "...", "message": "...", "code": N}</c> with an HTTP error status.</summary>
    private static EtcdGatewayException ErrorResponse(HttpStatusCode status, byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number)
            {
                var message = EtcdGatewayJson.String(root, "message");
                if (message.Length == 0) message = EtcdGatewayJson.String(root, "error");
                return new EtcdGatewayException(code.GetInt32(), message);
            }
        }
        catch (JsonException)
        {
            // Not the gateway speaking (a proxy, another server on the port): report the HTTP answer itself.
        }
        var text = Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200))).Trim();
        if (text.Contains("CommonName of client", StringComparison.Ordinal))
            text += " (with authentication on, etcd's gateway takes only client certificates without a CommonName, as for Patroni: issue the node's certificate without CN)";
        // A refusal in plain text is final (bad request, wrong port or path); a 5xx may pass.
        var plain = (int)status >= 500 ? EtcdGatewayException.Unavailable : EtcdGatewayException.FailedPrecondition;
        return new EtcdGatewayException(plain, $"HTTP {(int)status} {status}: {text}");
    }

    /// <summary>An error message on a stream: <c>{"error": {"grpc_code": N, "message": "...", ...}}</c>.</summary>
    internal static EtcdGatewayException StreamError(JsonElement error)
    {
        var code = error.TryGetProperty("grpc_code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32()
            : error.TryGetProperty("code", out c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : EtcdGatewayException.Unknown;
        return new EtcdGatewayException(code, EtcdGatewayJson.String(error, "message"));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Authentication

    private async Task<string?> TokenAsync(CancellationToken cancellationToken)
    {
        if (_username is null) return null;
        var token = Volatile.Read(ref _token);
        if (token is not null) return token;
        await _authGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null) return _token;
            var payload = Serialize(w =>
            {
                w.WriteString("name", _username);
                w.WriteString("password", _password);
            });
            var index = Volatile.Read(ref _current);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoints[index], "/v3/auth/authenticate"));
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = Json;
                using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) throw ErrorResponse(response.StatusCode, body);
                using var document = JsonDocument.Parse(body);
                var issued = EtcdGatewayJson.String(document.RootElement, "token");
                if (issued.Length == 0)
                    throw new EtcdGatewayException(EtcdGatewayException.Unknown, "etcd authenticated the user but issued no token (is authentication enabled?)");
                Volatile.Write(ref _token, issued);
                return issued;
            }
            catch (Exception ex) when (ex is not EtcdGatewayException { IsRetryable: false })
            {
                MoveOn(index);
                throw;
            }
        }
        finally
        {
            _authGate.Release();
        }
    }

    /// <summary>etcd no longer accepts <paramref name="token"/>: the next request authenticates again.</summary>
    internal void InvalidateToken(string? token)
    {
        if (token is not null) Interlocked.CompareExchange(ref _token, null, token);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Connections

    /// <summary>
    /// TCP keep-alive finds a connection whose peer vanished (host down, network cut) under an idle watch, which sends
    /// nothing for as long as nothing changes. It cannot find a peer that is stopped but whose kernel still answers;
    /// the adapter's request deadlines cover that case (a failed request restarts the watch).
    /// </summary>
    private static async ValueTask<Stream> ConnectWithKeepAliveAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _authGate.Dispose();
    }
}

/// <summary>
/// The messages of one watch: the gateway writes each <c>WatchResponse</c> as one line <c>{"result": {...}}</c> (or
/// <c>{"error": {...}}</c> when the stream fails) for as long as the HTTP response runs. Dispose it to end the watch.
/// </summary>
internal sealed class EtcdWatchStream : IDisposable
{
    private readonly EtcdGatewayClient _client;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly string? _token;

    internal EtcdWatchStream(EtcdGatewayClient client, HttpResponseMessage response, Stream stream, string? token)
    {
        _client = client;
        _response = response;
        _reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        _token = token;
    }

    /// <summary>The next message; null when etcd ended the stream.</summary>
    /// <exception cref="EtcdGatewayException">etcd failed the stream (for example: its member lost the raft leader).</exception>
    public async Task<EtcdWatchResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null) return null;
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.TryGetProperty("result", out var result))
            {
                var response = EtcdGatewayJson.Watch(result);
                // A token that expired makes etcd refuse the watch as "permission denied": the next attempt authenticates again.
                if (response.Canceled && response.CancelReason.Contains("permission denied", StringComparison.OrdinalIgnoreCase))
                    _client.InvalidateToken(_token);
                return response;
            }
            if (root.TryGetProperty("error", out var error))
            {
                var failure = EtcdGatewayClient.StreamError(error);
                if (failure.IsInvalidAuthToken) _client.InvalidateToken(_token);
                throw failure;
            }
            throw new EtcdGatewayException(EtcdGatewayException.Unknown, $"unexpected watch message: {line[..Math.Min(line.Length, 200)]}");
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
