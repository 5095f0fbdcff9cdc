using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.AspNetCore;

/// <summary>
/// The REST API on Kestrel, with Patroni's routing: the first path segment and the method select a handler
/// (<c>GET /cluster</c>, <c>POST /switchover</c>, …); any other GET, and HEAD or OPTIONS on any path, is a health check
/// answered from the in-memory <see cref="NodeSnapshot"/>. Unknown methods answer 501. Unsafe (mutating) endpoints pass
/// <see cref="RestAccess"/> first.
/// </summary>
public sealed partial class RestApiServer : IAsyncDisposable
{
    // Null when the handlers are mapped into the host's own ASP.NET app (PgHaEndpointRouteBuilderExtensions.MapPgHa).
    private readonly WebApplication? _app;
    private readonly RestApiServerOptions _options;
    private readonly RestAccess _access;
    // The prefix the handlers are mapped under in a host's app ("" at the root), stripped before routing.
    private readonly string _basePath;

    private RestApiServer(WebApplication? app, RestApiServerOptions options, string basePath = "")
    {
        _app = app;
        _options = options;
        _access = new RestAccess(options.Security);
        _basePath = basePath;
    }

    /// <summary>The handlers alone, for mapping into a host's own app under <paramref name="basePath"/>.</summary>
    internal static RestApiServer ForEndpoints(RestApiServerOptions options, string basePath) => new(null, options, basePath);

    /// <summary>The addresses actually bound (useful with port 0).</summary>
    public IReadOnlyList<string> Addresses => _app?.Urls.ToList() ?? [];

    /// <summary>Starts a read-only API (health checks and <c>/patroni</c>) on <paramref name="listen"/> (<c>host:port</c>).</summary>
    public static Task<RestApiServer> StartAsync(string listen, Func<NodeSnapshot> snapshot, TimeProvider timeProvider, ILoggerProvider? loggerProvider, CancellationToken cancellationToken) =>
        StartAsync(new RestApiServerOptions { Listen = listen, Snapshot = snapshot, TimeProvider = timeProvider, LoggerProvider = loggerProvider }, cancellationToken);

    /// <summary>Starts the API described by <paramref name="options"/>.</summary>
    /// <exception cref="IOException">The address cannot be bound.</exception>
    /// <exception cref="InvalidOperationException">The certificate or key cannot be loaded.</exception>
    public static async Task<RestApiServer> StartAsync(RestApiServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The empty builder: no configuration files (and so no file watcher thread), no default services beyond what
        // the REST API uses — an idle agent should stay small.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddLogging();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        if (options.LoggerProvider is not null) builder.Logging.AddProvider(options.LoggerProvider);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        var security = options.Security;
        var tls = security?.CertFile is not null;
        if (tls) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            if (tls) k.ConfigureHttpsDefaults(https => ConfigureTls(https, security!));
        });
        builder.WebHost.UseUrls((tls ? "https://" : "http://") + options.Listen);
        var app = builder.Build();
        var server = new RestApiServer(app, options);
        app.Map("/{**path}", server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    private static void ConfigureTls(HttpsConnectionAdapterOptions https, RestApiSecurity security)
    {
        try
        {
            var password = security.KeyFilePassword;
            var certificate = password is null
                ? X509Certificate2.CreateFromPemFile(security.CertFile!, security.KeyFile)
                : X509Certificate2.CreateFromEncryptedPemFile(security.CertFile!, password, security.KeyFile);
            https.ServerCertificate = certificate;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new InvalidOperationException($"restapi.certfile/keyfile: cannot load the certificate {security.CertFile}: {ex.Message}", ex);
        }
        https.ClientCertificateMode = security.VerifyClient switch
        {
            RestApiClientCertificates.Required => Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate,
            RestApiClientCertificates.Optional => Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
            _ => Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.NoCertificate,
        };
        if (security.VerifyClient == RestApiClientCertificates.None) return;
        var trusted = new X509Certificate2Collection();
        if (security.CaFile is not null) trusted.ImportFromPemFile(security.CaFile);
        https.ClientCertificateValidation = (certificate, _, _) =>
        {
            // Only the configured CA vouches for clients (Patroni loads cafile into the TLS context the same way).
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return trusted.Count > 0 && chain.Build(certificate);
        };
    }

    internal async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var method = request.Method.ToUpperInvariant();
        var path = request.Path.Value ?? "/";
        if (_basePath.Length > 0 && path.StartsWith(_basePath, StringComparison.OrdinalIgnoreCase)) path = "/" + path[_basePath.Length..].TrimStart('/');
        var segment = path.TrimStart('/').Split('/')[0];
        foreach (var (name, value) in ExtraHeaders()) context.Response.Headers[name] = value;
        try
        {
            switch (method, segment)
            {
                case ("GET", "patroni"): await WriteStatusAsync(context, 200).ConfigureAwait(false); return;
                case ("GET", "cluster"): await GetClusterAsync(context).ConfigureAwait(false); return;
                case ("GET", "history"): await GetHistoryAsync(context).ConfigureAwait(false); return;
                case ("GET", "config"): await GetConfigAsync(context).ConfigureAwait(false); return;
                case ("GET", "failsafe"): await GetFailsafeAsync(context).ConfigureAwait(false); return;
                case ("GET", "metrics"):
                    await WriteTextAsync(context, 200, MetricsDocument.Build(_options.Snapshot(), Now), "text/plain").ConfigureAwait(false);
                    return;
                case ("GET", "ui"): await WriteTextAsync(context, 200, Dashboard.Dashboard.Html, "text/html; charset=utf-8").ConfigureAwait(false); return;
                case ("GET", "liveness"): context.Response.StatusCode = HealthCheck.Liveness(_options.Snapshot(), Now); return;
                case ("GET", "readiness"): context.Response.StatusCode = HealthCheck.Readiness(_options.Snapshot(), Now); return;
                case ("GET" or "HEAD" or "OPTIONS", _): await HealthAsync(context, path, writeBody: method == "GET").ConfigureAwait(false); return;
                case ("PATCH", "config"): await Unsafe(context, PatchConfigAsync).ConfigureAwait(false); return;
                case ("PUT", "config"): await Unsafe(context, PutConfigAsync).ConfigureAwait(false); return;
                case ("POST", "reload"): await Unsafe(context, PostReloadAsync).ConfigureAwait(false); return;
                case ("POST", "restart"): await Unsafe(context, PostRestartAsync).ConfigureAwait(false); return;
                case ("DELETE", "restart"): await Unsafe(context, DeleteRestartAsync).ConfigureAwait(false); return;
                case ("POST", "switchover"): await Unsafe(context, c => PostFailoverAsync(c, switchover: true)).ConfigureAwait(false); return;
                case ("POST", "failover"): await Unsafe(context, c => PostFailoverAsync(c, switchover: false)).ConfigureAwait(false); return;
                case ("DELETE", "switchover"): await Unsafe(context, DeleteSwitchoverAsync).ConfigureAwait(false); return;
                case ("POST", "reinitialize"): await Unsafe(context, PostReinitializeAsync).ConfigureAwait(false); return;
                case ("POST", "failsafe"): await Unsafe(context, PostFailsafeAsync).ConfigureAwait(false); return;
                default:
                    await WriteTextAsync(context, 501, $"Unsupported method ('{request.Method}') for {path}").ConfigureAwait(false);
                    return;
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteTextAsync(context, 413, $"Request body too large: at most {_options.MaxRequestBodyBytes} bytes are accepted").ConfigureAwait(false);
        }
        catch (DcsUnavailableException ex)
        {
            await WriteTextAsync(context, 503, "DCS is not accessible: " + ex.Message).ConfigureAwait(false);
        }
    }

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private IEnumerable<KeyValuePair<string, string>> ExtraHeaders()
    {
        if (_options.Security is not { } s) return [];
        var headers = s.HttpExtraHeaders.AsEnumerable();
        return s.CertFile is null ? headers : headers.Concat(s.HttpsExtraHeaders);
    }

    private async Task Unsafe(HttpContext context, Func<HttpContext, Task> handler)
    {
        var members = _options.Snapshot().LastCycle?.Cluster?.Members ?? [];
        var hosts = members.Select(m => m.ApiUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Host : null).OfType<string>();
        if (_access.Check(context, hosts) is { } denied)
        {
            if (denied.Status == 401) context.Response.Headers.WWWAuthenticate = "Basic realm=\"Patroni\"";
            await WriteTextAsync(context, denied.Status, denied.Reason).ConfigureAwait(false);
            return;
        }
        await handler(context).ConfigureAwait(false);
    }

    private async Task HealthAsync(HttpContext context, string path, bool writeBody)
    {
        var node = _options.Snapshot();
        var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        var code = HealthCheck.Evaluate(path, query, node, Now, out var error);
        if (code is null)
        {
            await WriteTextAsync(context, 400, error ?? "bad request").ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = code.Value;
        if (!writeBody) return; // HAProxy's HEAD/OPTIONS checks read the status line only
        await WriteJsonAsync(context, code.Value, StatusDocument.Build(node, Now)).ConfigureAwait(false);
    }

    private Task WriteStatusAsync(HttpContext context, int status) =>
        WriteJsonAsync(context, status, StatusDocument.Build(_options.Snapshot(), Now));

    private async Task GetClusterAsync(HttpContext context)
    {
        var cluster = await ReadClusterAsync(context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, ClusterDocument.Build(cluster)).ConfigureAwait(false);
    }

    private async Task GetHistoryAsync(HttpContext context)
    {
        var cluster = await ReadClusterAsync(context.RequestAborted).ConfigureAwait(false);
        JsonNode history = cluster.History?.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonArray array ? array : new JsonArray();
        await WriteJsonAsync(context, 200, history).ConfigureAwait(false);
    }

    private async Task GetConfigAsync(HttpContext context)
    {
        var cluster = await ReadClusterAsync(context.RequestAborted).ConfigureAwait(false);
        if (cluster.Config?.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject config)
            await WriteJsonAsync(context, 200, config).ConfigureAwait(false);
        else
            await WriteTextAsync(context, 502, "the config key is missing or not a JSON object").ConfigureAwait(false);
    }

    private async Task GetFailsafeAsync(HttpContext context)
    {
        var cluster = await ReadClusterAsync(context.RequestAborted).ConfigureAwait(false);
        if (cluster.Failsafe is { } failsafe)
            await WriteJsonAsync(context, 200, PatroniJson.TryParse(FailsafeCodec.Serialize(failsafe), out _)).ConfigureAwait(false);
        else
            await WriteTextAsync(context, 502, "the failsafe key is missing or not a JSON object").ConfigureAwait(false);
    }

    /// <summary>
    /// A fresh read of the cluster, bounded by retry_timeout; without a DCS connection, or when the DCS does not answer
    /// in time, the last cycle's view (if any) answers instead, as Patroni answers from its cached cluster.
    /// </summary>
    private async Task<ClusterState> ReadClusterAsync(CancellationToken ct)
    {
        var cached = _options.Snapshot().LastCycle?.Cluster;
        if (_options.Dcs is null)
            return cached ?? throw new DcsUnavailableException("this node has no cluster view yet");
        try
        {
            return await WithDeadline(c => _options.Dcs.LoadClusterAsync(c), ct).ConfigureAwait(false);
        }
        catch (DcsUnavailableException) when (cached is not null)
        {
            return cached;
        }
    }

    private async Task<T> WithDeadline<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var deadline = _options.Snapshot().Settings.RetryTimeout;
        using var timeout = new CancellationTokenSource(deadline, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DcsUnavailableException($"no answer within retry_timeout ({deadline.TotalSeconds:0} s)");
        }
    }

    private static Task WriteJsonAsync(HttpContext context, int status, JsonNode? body) =>
        WriteTextAsync(context, status, PatroniJson.SerializeSpaced(body), "application/json");

    private static async Task WriteTextAsync(HttpContext context, int status, string body, string contentType = "text/html")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
