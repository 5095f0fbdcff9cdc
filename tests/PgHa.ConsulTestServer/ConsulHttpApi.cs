using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace PgHa.ConsulTestServer;

/// <summary>
/// Consul's HTTP API (<c>/v1/kv</c>, <c>/v1/session</c>, a part of <c>/v1/agent</c> and <c>/v1/status</c>) over a
/// <see cref="ConsulStore"/>: Consul's paths, query parameters, headers, status codes and error bodies.
/// </summary>
/// <remarks>
/// Deviations from a real agent, by design: one server that is its own leader (every read is consistent, so
/// <c>?consistent</c> and <c>?stale</c> are accepted and change nothing); no ACL system (a token is required only when
/// <see cref="ConsulTestServerOptions.RequiredToken"/> is set); service checks are recorded but never probed.
/// </remarks>
public static class ConsulHttpApi
{
    private static readonly JsonWriterOptions Compact = new() { Indented = false };

    /// <summary>Maps every endpoint onto <paramref name="routes"/>.</summary>
    public static void Map(IEndpointRouteBuilder routes, ConsulStore store)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(store);

        routes.MapGet("/v1/kv/{**key}", ctx => Guarded(ctx, store, () => GetKvAsync(ctx, store)));
        routes.MapPut("/v1/kv/{**key}", ctx => Guarded(ctx, store, () => PutKvAsync(ctx, store)));
        routes.MapDelete("/v1/kv/{**key}", ctx => Guarded(ctx, store, () => DeleteKvAsync(ctx, store)));

        routes.MapPut("/v1/session/create", ctx => Guarded(ctx, store, () => CreateSessionAsync(ctx, store)));
        routes.MapPut("/v1/session/renew/{id}", ctx => Guarded(ctx, store, () => RenewSessionAsync(ctx, store)));
        routes.MapPut("/v1/session/destroy/{id}", ctx => Guarded(ctx, store, () =>
        {
            store.DestroySession((string)ctx.Request.RouteValues["id"]!);
            return WriteJsonAsync(ctx, w => w.WriteBooleanValue(true));
        }));
        routes.MapGet("/v1/session/info/{id}", ctx => Guarded(ctx, store, () =>
        {
            var session = store.GetSession((string)ctx.Request.RouteValues["id"]!);
            SetQueryHeaders(ctx, store.Index);
            return WriteJsonAsync(ctx, w => WriteSessions(w, session is null ? [] : [session]));
        }));
        routes.MapGet("/v1/session/list", ctx => Guarded(ctx, store, () =>
        {
            SetQueryHeaders(ctx, store.Index);
            return WriteJsonAsync(ctx, w => WriteSessions(w, store.ListSessions()));
        }));
        routes.MapGet("/v1/session/node/{node}", ctx => Guarded(ctx, store, () =>
        {
            var node = (string)ctx.Request.RouteValues["node"]!;
            SetQueryHeaders(ctx, store.Index);
            return WriteJsonAsync(ctx, w => WriteSessions(w, [.. store.ListSessions().Where(s => s.Node == node)]));
        }));

        routes.MapGet("/v1/agent/self", ctx => Guarded(ctx, store, () => WriteJsonAsync(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("Config");
            w.WriteString("Datacenter", store.Options.Datacenter);
            w.WriteString("NodeName", store.Options.NodeName);
            w.WriteBoolean("Server", true);
            w.WriteString("Version", "1.15.0-pgha-test");
            // Patroni reads the minimum session TTL from here after Consul refused its TTL (nanoseconds).
            w.WriteNumber("SessionTTLMin", store.Options.SessionTtlMin.Ticks * 100);
            w.WriteEndObject();
            w.WriteStartObject("Member");
            w.WriteString("Name", store.Options.NodeName);
            w.WriteString("Addr", "127.0.0.1");
            w.WriteNumber("Status", 1);
            w.WriteEndObject();
            w.WriteEndObject();
        })));
        routes.MapGet("/v1/status/leader", ctx => Guarded(ctx, store, () => WriteJsonAsync(ctx, w => w.WriteStringValue("127.0.0.1:8300"))));
        routes.MapGet("/v1/status/peers", ctx => Guarded(ctx, store, () => WriteJsonAsync(ctx, w =>
        {
            w.WriteStartArray();
            w.WriteStringValue("127.0.0.1:8300");
            w.WriteEndArray();
        })));

        routes.MapPut("/v1/agent/service/register", ctx => Guarded(ctx, store, () => RegisterServiceAsync(ctx, store)));
        // The service ID is the rest of the path: Patroni's IDs are "<scope>/<name>", sent with the '/' as it is.
        routes.MapPut("/v1/agent/service/deregister/{**id}", ctx => Guarded(ctx, store, () =>
        {
            var id = Uri.UnescapeDataString((string)ctx.Request.RouteValues["id"]!);
            // Consul answers 404 "Unknown service ID" for a service the agent does not have.
            if (!store.DeregisterService(id)) throw new ConsulApiException(404, $"Unknown service ID \"{id}\". Ensure that the service ID is passed, not the service name.");
            return Task.CompletedTask;
        }));
        routes.MapGet("/v1/agent/services", ctx => Guarded(ctx, store, () => WriteJsonAsync(ctx, w =>
        {
            w.WriteStartObject();
            foreach (var service in store.Services())
            {
                w.WriteStartObject(service.Id);
                w.WriteString("ID", service.Id);
                w.WriteString("Service", service.Name);
                w.WriteStartArray("Tags");
                foreach (var tag in service.Tags) w.WriteStringValue(tag);
                w.WriteEndArray();
                w.WriteString("Address", service.Address);
                w.WriteNumber("Port", service.Port);
                w.WriteString("Datacenter", store.Options.Datacenter);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        })));
    }

    /// <summary>Token and datacenter checks common to every endpoint, and Consul's error answers.</summary>
    private static async Task Guarded(HttpContext ctx, ConsulStore store, Func<Task> handle)
    {
        try
        {
            var options = store.Options;
            if (options.RequiredToken is { } required)
            {
                // Docs (API overview): the token is given in the X-Consul-Token header (or the deprecated ?token=).
                var token = ctx.Request.Headers["X-Consul-Token"].FirstOrDefault() ?? ctx.Request.Query["token"].FirstOrDefault();
                if (!string.Equals(token, required, StringComparison.Ordinal)) throw new ConsulApiException(403, "ACL not found");
            }
            // Docs: "dc ... Specifies the datacenter to query. This will default to the datacenter of the agent being
            // queried." This server knows no other datacenter.
            if (ctx.Request.Query.TryGetValue("dc", out var dc) && dc.ToString() is { Length: > 0 } name && name != options.Datacenter)
                throw new ConsulApiException(500, "No path to datacenter");
            await handle().ConfigureAwait(false);
        }
        catch (ConsulApiException ex)
        {
            ctx.Response.StatusCode = ex.StatusCode;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync(ex.Message, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away during a blocking query.
        }
    }

    private static async Task GetKvAsync(HttpContext ctx, ConsulStore store)
    {
        var key = Key(ctx);
        var query = ctx.Request.Query;
        // Docs (KV): "keys ... Specifies to return only keys (no values or metadata). Specifying this implies recurse."
        var keysOnly = Flag(query, "keys");
        var recurse = keysOnly || Flag(query, "recurse");
        KvReadResult result;
        if (query.TryGetValue("index", out var indexText))
        {
            var minIndex = ParseUnsigned(indexText, "index");
            TimeSpan? wait = null;
            if (query.TryGetValue("wait", out var waitText))
            {
                if (!GoDuration.TryParse(waitText.ToString(), out var parsed)) throw new ConsulApiException(400, $"Invalid wait time: {waitText}");
                wait = parsed;
            }
            result = await store.ReadBlockingAsync(key, recurse, minIndex, wait, ctx.RequestAborted).ConfigureAwait(false);
        }
        else
            result = store.Read(key, recurse);

        SetQueryHeaders(ctx, result.Index);
        // Docs (KV): a read that matches no key returns 404 (with the blocking headers, so clients can block on it).
        if (result.Entries.Count == 0)
        {
            ctx.Response.StatusCode = 404;
            return;
        }
        if (keysOnly)
        {
            // Docs (KV): "separator ... only used when paired with the keys parameter to limit the prefix of keys
            // returned, only up to the given separator."
            var separator = query["separator"].ToString();
            var keys = result.Entries.Select(e => e.Key);
            if (separator.Length > 0)
            {
                keys = keys.Select(k =>
                {
                    var at = k.IndexOf(separator, key.Length, StringComparison.Ordinal);
                    return at < 0 ? k : k[..(at + separator.Length)];
                }).Distinct(StringComparer.Ordinal);
            }
            await WriteJsonAsync(ctx, w =>
            {
                w.WriteStartArray();
                foreach (var k in keys) w.WriteStringValue(k);
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }
        if (Flag(query, "raw") && !recurse)
        {
            // Docs (KV): "raw ... the response is just the raw value of the key, without any encoding or metadata."
            ctx.Response.ContentType = "application/octet-stream";
            await ctx.Response.Body.WriteAsync(result.Entries[0].Value, ctx.RequestAborted).ConfigureAwait(false);
            return;
        }
        await WriteJsonAsync(ctx, w =>
        {
            w.WriteStartArray();
            foreach (var e in result.Entries)
            {
                w.WriteStartObject();
                w.WriteNumber("LockIndex", e.LockIndex);
                w.WriteString("Key", e.Key);
                w.WriteNumber("Flags", e.Flags);
                // Docs (KV): "Value is a base64-encoded blob of data"; a key without a value has Value null.
                if (e.Value.Length == 0) w.WriteNull("Value");
                else w.WriteBase64String("Value", e.Value);
                if (e.Session is not null) w.WriteString("Session", e.Session);
                w.WriteNumber("CreateIndex", e.CreateIndex);
                w.WriteNumber("ModifyIndex", e.ModifyIndex);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static async Task PutKvAsync(HttpContext ctx, ConsulStore store)
    {
        var key = Key(ctx);
        var query = ctx.Request.Query;
        var body = await ReadBodyAsync(ctx, ConsulStore.MaxValueSize).ConfigureAwait(false);
        ulong? flags = query.TryGetValue("flags", out var f) ? ParseUnsigned(f, "flags") : null;
        ulong? cas = query.TryGetValue("cas", out var c) ? ParseUnsigned(c, "cas") : null;
        string? acquire = query.TryGetValue("acquire", out var a) ? a.ToString() : null;
        string? release = query.TryGetValue("release", out var r) ? r.ToString() : null;
        // Docs (KV): PUT answers true or false — false when a cas, acquire or release condition is not met.
        var done = store.Put(key, body, flags, cas, acquire, release);
        await WriteJsonAsync(ctx, w => w.WriteBooleanValue(done)).ConfigureAwait(false);
    }

    private static Task DeleteKvAsync(HttpContext ctx, ConsulStore store)
    {
        var query = ctx.Request.Query;
        ulong? cas = query.TryGetValue("cas", out var c) ? ParseUnsigned(c, "cas") : null;
        var done = store.Delete(Key(ctx), Flag(query, "recurse"), cas);
        return WriteJsonAsync(ctx, w => w.WriteBooleanValue(done));
    }

    private static async Task CreateSessionAsync(HttpContext ctx, ConsulStore store)
    {
        var body = await ReadBodyAsync(ctx, 1024 * 1024).ConfigureAwait(false);
        var request = new SessionRequest();
        if (body.Length > 0)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body);
            }
            catch (JsonException ex)
            {
                throw new ConsulApiException(400, $"Request decode failed: {ex.Message}");
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ConsulApiException(400, "Request decode failed: body is not a JSON object");
                request = ParseSessionRequest(document.RootElement);
            }
        }
        var session = store.CreateSession(request);
        await WriteJsonAsync(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("ID", session.Id);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Consul decodes the body with Go's case-insensitive field matching, so <c>ttl</c>, <c>TTL</c> and <c>Ttl</c> are
    /// the same field (Patroni and python-consul send lower case).
    /// </summary>
    private static SessionRequest ParseSessionRequest(JsonElement body)
    {
        var request = new SessionRequest();
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name.ToUpperInvariant())
            {
                case "NAME": request = request with { Name = StringOf(value, "Name") }; break;
                case "NODE": request = request with { Node = StringOf(value, "Node") }; break;
                case "CHECKS":
                case "NODECHECKS": request = request with { NodeChecks = StringsOf(value, property.Name) }; break;
                case "SERVICECHECKS": request = request with { ServiceChecks = ServiceChecksOf(value) }; break;
                case "BEHAVIOR": request = request with { Behavior = StringOf(value, "Behavior") }; break;
                case "TTL": request = request with { Ttl = StringOf(value, "TTL") }; break;
                case "LOCKDELAY": request = request with { LockDelay = LockDelayOf(value) }; break;
                default: break; // Consul ignores fields it does not know (Namespace, Partition in OSS).
            }
        }
        return request;
    }

    /// <summary>
    /// Docs (Session API): "LockDelay ... specified as a duration string using a "s" suffix for seconds". Not
    /// documented: a bare number — Consul reads a number below 1000 as seconds and anything larger as nanoseconds.
    /// </summary>
    private static TimeSpan? LockDelayOf(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number)
        {
            var number = value.GetDouble();
            return number < 1000 ? TimeSpan.FromSeconds(number) : TimeSpan.FromTicks((long)(number / 100));
        }
        var text = StringOf(value, "LockDelay");
        if (!GoDuration.TryParse(text, out var delay)) throw new ConsulApiException(400, $"Request decode failed: time: invalid duration \"{text}\"");
        return delay;
    }

    private static string? StringOf(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => throw new ConsulApiException(400, $"Request decode failed: {field} must be a string"),
    };

    private static IReadOnlyList<string>? StringsOf(JsonElement value, string field)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array) throw new ConsulApiException(400, $"Request decode failed: {field} must be a list of check ids");
        return [.. value.EnumerateArray().Select(v => StringOf(v, field) ?? "")];
    }

    private static IReadOnlyList<string>? ServiceChecksOf(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array) throw new ConsulApiException(400, "Request decode failed: ServiceChecks must be a list");
        return [.. value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Object && v.TryGetProperty("ID", out var id) ? id.GetString() ?? "" : StringOf(v, "ServiceChecks") ?? "")];
    }

    private static Task RenewSessionAsync(HttpContext ctx, ConsulStore store)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        // Docs (Session API): renew "returns a 404 status code if the session no longer exists".
        var session = store.RenewSession(id) ?? throw new ConsulApiException(404, $"Session id '{id}' not found");
        return WriteJsonAsync(ctx, w => WriteSessions(w, [session]));
    }

    private static async Task RegisterServiceAsync(HttpContext ctx, ConsulStore store)
    {
        var body = await ReadBodyAsync(ctx, 1024 * 1024).ConfigureAwait(false);
        using var document = body.Length > 0 ? JsonDocument.Parse(body) : JsonDocument.Parse("{}");
        string? name = null, id = null, address = null, checkHttp = null;
        var port = 0;
        var tags = new List<string>();
        var hasCheck = false;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            switch (property.Name.ToUpperInvariant())
            {
                case "NAME": name = StringOf(property.Value, "Name"); break;
                case "ID": id = StringOf(property.Value, "ID"); break;
                case "ADDRESS": address = StringOf(property.Value, "Address"); break;
                case "PORT": port = property.Value.GetInt32(); break;
                case "TAGS": tags.AddRange(StringsOf(property.Value, "Tags") ?? []); break;
                case "CHECK" when property.Value.ValueKind == JsonValueKind.Object:
                    hasCheck = true;
                    foreach (var c in property.Value.EnumerateObject())
                        if (c.Name.Equals("HTTP", StringComparison.OrdinalIgnoreCase)) checkHttp = StringOf(c.Value, "HTTP");
                    break;
                default: break;
            }
        }
        // Docs (Agent service API): "Name ... Specifies the logical name of the service" (required); "ID ... defaults
        // to the Name".
        if (string.IsNullOrEmpty(name)) throw new ConsulApiException(400, "Missing service name");
        id = string.IsNullOrEmpty(id) ? name : id;
        store.RegisterService(new ServiceRegistration(id, name, tags, address ?? "", port, hasCheck ? $"service:{id}" : null, checkHttp));
    }

    // -----------------------------------------------------------------------------------------------------------------

    private static string Key(HttpContext ctx) => (string?)ctx.Request.RouteValues["key"] ?? "";

    /// <summary>Consul treats a query flag as set when it is present, whatever its value (<c>?recurse</c>, <c>?recurse=true</c>).</summary>
    private static bool Flag(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && !string.Equals(value.ToString(), "false", StringComparison.OrdinalIgnoreCase);

    private static ulong ParseUnsigned(StringValues text, string name)
    {
        if (ulong.TryParse(text.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return value;
        throw new ConsulApiException(400, $"Invalid {name} value: \"{text}\"");
    }

    private static void SetQueryHeaders(HttpContext ctx, ulong index)
    {
        // Docs ("Blocking queries", "Consistency modes"): reads carry X-Consul-Index, X-Consul-KnownLeader and
        // X-Consul-LastContact (ms since the leader was last heard from; this server is the leader).
        ctx.Response.Headers["X-Consul-Index"] = index.ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["X-Consul-KnownLeader"] = "true";
        ctx.Response.Headers["X-Consul-LastContact"] = "0";
    }

    private static void WriteSessions(Utf8JsonWriter w, IReadOnlyList<ConsulSession> sessions)
    {
        w.WriteStartArray();
        foreach (var s in sessions)
        {
            w.WriteStartObject();
            w.WriteString("ID", s.Id);
            w.WriteString("Name", s.Name);
            w.WriteString("Node", s.Node);
            w.WriteNumber("LockDelay", s.LockDelay.Ticks * 100);
            w.WriteString("Behavior", s.Behavior);
            w.WriteString("TTL", s.Ttl);
            w.WriteStartArray("NodeChecks");
            foreach (var check in s.NodeChecks) w.WriteStringValue(check);
            w.WriteEndArray();
            w.WriteNull("ServiceChecks");
            w.WriteNumber("CreateIndex", s.CreateIndex);
            w.WriteNumber("ModifyIndex", s.CreateIndex);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static async Task WriteJsonAsync(HttpContext ctx, Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Compact)) write(writer);
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.Length;
        await ctx.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext ctx, int limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit) throw new ConsulApiException(413, $"Request body too large, max size: {limit} bytes");
        }
        return buffer.ToArray();
    }

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
