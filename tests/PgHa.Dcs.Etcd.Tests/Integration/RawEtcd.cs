using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// etcdctl's view of a server for the tests: plain JSON calls to etcd's gateway written here, apart from the adapter's
/// own client, so a mistake in that client's encoding does not hide itself.
/// </summary>
internal sealed class RawEtcd : IDisposable
{
    /// <summary>etcd answered with an error.</summary>
    public sealed class RefusedException(string message) : Exception(message);

    /// <summary>A key as etcd stores it.</summary>
    public sealed record Kv(string Key, string Value, long CreateRevision, long ModRevision, long Lease);

    private readonly HttpClient _http;
    private readonly Uri _url;
    private string? _token;

    public RawEtcd(string url, EtcdServer.TlsFiles? tls)
    {
        _url = new Uri(url);
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (tls is not null)
        {
            var trusted = new X509Certificate2Collection();
            trusted.ImportFromPemFile(tls.Ca);
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.ClientCert, tls.ClientKey)];
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return presented is X509Certificate2 c && chain.Build(c);
            };
        }
        _http = new HttpClient(handler);
    }

    /// <summary>Authenticates as <paramref name="user"/>; later calls carry the token.</summary>
    public async Task AuthenticateAsync(string user, string password, CancellationToken ct) =>
        _token = (string)(await PostAsync("/v3/auth/authenticate", new JsonObject { ["name"] = user, ["password"] = password }, ct))["token"]!;

    public async Task<JsonObject> PostAsync(string path, JsonObject body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_url, path)) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (_token is not null) request.Headers.TryAddWithoutValidation("Authorization", _token);
        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new RefusedException($"etcd answered {(int)response.StatusCode} to {path}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }

    public async Task<IReadOnlyList<Kv>> RangeAsync(string prefix, CancellationToken ct)
    {
        var answer = await PostAsync("/v3/kv/range", new JsonObject { ["key"] = B64(prefix), ["range_end"] = Convert.ToBase64String(EtcdDcs.RangeEnd(Encoding.UTF8.GetBytes(prefix))) }, ct);
        return answer["kvs"] is JsonArray kvs
            ? [.. kvs.Select(k => new Kv(Text(k!["key"]), Text(k["value"]), Int(k["create_revision"]), Int(k["mod_revision"]), Int(k["lease"])))]
            : [];
    }

    public async Task<long> RevisionAsync(CancellationToken ct) =>
        Int((await PostAsync("/v3/kv/range", new JsonObject { ["key"] = B64("/") }, ct))["header"]!["revision"]);

    /// <returns>The revision of the put.</returns>
    public async Task<long> PutAsync(string key, string value, long lease, CancellationToken ct)
    {
        var body = new JsonObject { ["key"] = B64(key), ["value"] = B64(value) };
        if (lease != 0) body["lease"] = lease.ToString(CultureInfo.InvariantCulture);
        return Int((await PostAsync("/v3/kv/put", body, ct))["header"]!["revision"]);
    }

    public Task DeleteAsync(string key, CancellationToken ct) => PostAsync("/v3/kv/deleterange", new JsonObject { ["key"] = B64(key) }, ct);

    public async Task<long> LeaseGrantAsync(long ttl, CancellationToken ct) =>
        Int((await PostAsync("/v3/lease/grant", new JsonObject { ["TTL"] = ttl.ToString(CultureInfo.InvariantCulture) }, ct))["ID"]);

    /// <returns>The remaining TTL (-1 when the lease is gone) and the TTL it was granted with.</returns>
    public async Task<(long Ttl, long GrantedTtl)> LeaseTimeToLiveAsync(long lease, CancellationToken ct)
    {
        var answer = await PostAsync("/v3/lease/timetolive", new JsonObject { ["ID"] = lease.ToString(CultureInfo.InvariantCulture) }, ct);
        return (Int(answer["TTL"]), Int(answer["grantedTTL"]));
    }

    public Task LeaseRevokeAsync(long lease, CancellationToken ct) =>
        PostAsync("/v3/lease/revoke", new JsonObject { ["ID"] = lease.ToString(CultureInfo.InvariantCulture) }, ct);

    public Task CompactAsync(long revision, CancellationToken ct) =>
        PostAsync("/v3/kv/compaction", new JsonObject { ["revision"] = revision.ToString(CultureInfo.InvariantCulture), ["physical"] = true }, ct);

    public void Dispose() => _http.Dispose();

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string Text(JsonNode? node) => node is null ? "" : Encoding.UTF8.GetString(Convert.FromBase64String((string)node!));

    private static long Int(JsonNode? node) => node is null ? 0 : long.Parse(node.ToString(), CultureInfo.InvariantCulture);
}
