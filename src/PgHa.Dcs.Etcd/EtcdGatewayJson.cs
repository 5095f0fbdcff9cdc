using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PgHa.Dcs.Etcd;

/// <summary>One key as etcd returns it (<c>mvccpb.KeyValue</c>); key and value decoded from UTF-8.</summary>
internal sealed record EtcdKeyValue(string Key, string Value, long CreateRevision, long ModRevision, long Version, long Lease);

/// <summary>One watch event (<c>mvccpb.Event</c>): a put, or a delete whose <see cref="Kv"/> carries only key and mod revision.</summary>
internal readonly record struct EtcdEvent(bool IsDelete, EtcdKeyValue Kv);

/// <summary>What a range read returned: the store revision it was answered at and the keys in etcd's key order.</summary>
internal sealed record EtcdRangeResult(long Revision, IReadOnlyList<EtcdKeyValue> Kvs);

/// <summary>What a txn returned: whether its comparisons held, the store revision, and one result per operation run.</summary>
internal sealed record EtcdTxnResult(bool Succeeded, long Revision, IReadOnlyList<EtcdOpResult> Responses);

/// <summary>The result of one txn operation: the keys of a range, or the number of keys a delete removed.</summary>
internal sealed record EtcdOpResult(IReadOnlyList<EtcdKeyValue>? RangeKvs, long Deleted);

/// <summary>One message of a watch stream (<c>WatchResponse</c>).</summary>
internal sealed record EtcdWatchResponse(bool Created, bool Canceled, long CompactRevision, string CancelReason, IReadOnlyList<EtcdEvent> Events);

/// <summary>What a <c>Compare</c> of a txn looks at (etcd's <c>CompareTarget</c>).</summary>
internal enum EtcdCompareTarget
{
    /// <summary><c>create_revision</c>: 0 when the key does not exist.</summary>
    Create,
    /// <summary><c>mod_revision</c>.</summary>
    Mod,
    /// <summary>The value.</summary>
    Value,
    /// <summary>The lease the key is bound to (0 for none).</summary>
    Lease,
}

/// <summary>One equality comparison of a txn.</summary>
internal readonly record struct EtcdCompare(string Key, EtcdCompareTarget Target, long Number, string? Value)
{
    public static EtcdCompare CreateRevisionIs(string key, long revision) => new(key, EtcdCompareTarget.Create, revision, null);
    public static EtcdCompare ModRevisionIs(string key, long revision) => new(key, EtcdCompareTarget.Mod, revision, null);
    public static EtcdCompare ValueIs(string key, string value) => new(key, EtcdCompareTarget.Value, 0, value);
    public static EtcdCompare LeaseIs(string key, long lease) => new(key, EtcdCompareTarget.Lease, lease, null);
}

/// <summary>The kinds of txn operation PgHa uses.</summary>
internal enum EtcdOpKind
{
    /// <summary>Put <see cref="EtcdOp.Value"/> bound to <see cref="EtcdOp.Lease"/> (0: none).</summary>
    Put,
    /// <summary>Read the one key.</summary>
    Range,
    /// <summary>Delete the one key.</summary>
    Delete,
}

/// <summary>One operation of a txn, on a single key.</summary>
internal readonly record struct EtcdOp(EtcdOpKind Kind, string Key, string? Value = null, long Lease = 0)
{
    public static EtcdOp Put(string key, string value, long lease = 0) => new(EtcdOpKind.Put, key, value, lease);
    public static EtcdOp Range(string key) => new(EtcdOpKind.Range, key);
    public static EtcdOp Delete(string key) => new(EtcdOpKind.Delete, key);
}

/// <summary>
/// The JSON of etcd's gRPC gateway (proto3 JSON as grpc-gateway writes it): field names as in the .proto, bytes as
/// base64, int64 as strings, and every field holding its default value left out (no <c>kvs</c> when empty, no
/// <c>succeeded</c> when false, no <c>type</c> for a put event). Written with <see cref="Utf8JsonWriter"/> and read
/// with <see cref="JsonDocument"/>, so nothing depends on reflection.
/// </summary>
internal static class EtcdGatewayJson
{
    public static void WriteKey(Utf8JsonWriter writer, string name, string key) => writer.WriteBase64String(name, Encoding.UTF8.GetBytes(key));

    public static void WriteInt64(Utf8JsonWriter writer, string name, long value) => writer.WriteString(name, value.ToString(CultureInfo.InvariantCulture));

    public static void WriteCompare(Utf8JsonWriter writer, EtcdCompare compare)
    {
        writer.WriteStartObject();
        WriteKey(writer, "key", compare.Key);
        writer.WriteString("result", "EQUAL");
        switch (compare.Target)
        {
            case EtcdCompareTarget.Create:
                writer.WriteString("target", "CREATE");
                WriteInt64(writer, "create_revision", compare.Number);
                break;
            case EtcdCompareTarget.Mod:
                writer.WriteString("target", "MOD");
                WriteInt64(writer, "mod_revision", compare.Number);
                break;
            case EtcdCompareTarget.Value:
                writer.WriteString("target", "VALUE");
                WriteKey(writer, "value", compare.Value ?? "");
                break;
            case EtcdCompareTarget.Lease:
                writer.WriteString("target", "LEASE");
                WriteInt64(writer, "lease", compare.Number);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(compare), compare.Target, "unknown compare target");
        }
        writer.WriteEndObject();
    }

    public static void WriteOp(Utf8JsonWriter writer, EtcdOp op)
    {
        writer.WriteStartObject();
        switch (op.Kind)
        {
            case EtcdOpKind.Put:
                writer.WriteStartObject("request_put");
                WriteKey(writer, "key", op.Key);
                WriteKey(writer, "value", op.Value ?? "");
                if (op.Lease != 0) WriteInt64(writer, "lease", op.Lease);
                writer.WriteEndObject();
                break;
            case EtcdOpKind.Range:
                writer.WriteStartObject("request_range");
                WriteKey(writer, "key", op.Key);
                writer.WriteEndObject();
                break;
            case EtcdOpKind.Delete:
                writer.WriteStartObject("request_delete_range");
                WriteKey(writer, "key", op.Key);
                writer.WriteEndObject();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "unknown operation");
        }
        writer.WriteEndObject();
    }

    /// <summary>An int64 field: a JSON string (as etcd writes it) or number; 0 when left out.</summary>
    public static long Int64(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value)) return 0;
        return value.ValueKind switch
        {
            JsonValueKind.String => long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
            JsonValueKind.Number => value.GetInt64(),
            _ => throw new FormatException($"etcd's '{name}' is {value.ValueKind}, not an integer"),
        };
    }

    public static bool Bool(JsonElement obj, string name) => obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    public static string String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    /// <summary>A bytes field (base64) decoded as UTF-8; "" when left out.</summary>
    public static string Utf8(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Encoding.UTF8.GetString(value.GetBytesFromBase64()) : "";

    public static long Revision(JsonElement response) =>
        response.TryGetProperty("header", out var header) ? Int64(header, "revision") : 0;

    public static EtcdKeyValue KeyValue(JsonElement kv) => new(
        Utf8(kv, "key"), Utf8(kv, "value"), Int64(kv, "create_revision"), Int64(kv, "mod_revision"), Int64(kv, "version"), Int64(kv, "lease"));

    public static IReadOnlyList<EtcdKeyValue> KeyValues(JsonElement response)
    {
        if (!response.TryGetProperty("kvs", out var kvs) || kvs.ValueKind != JsonValueKind.Array) return [];
        var result = new EtcdKeyValue[kvs.GetArrayLength()];
        var i = 0;
        foreach (var kv in kvs.EnumerateArray()) result[i++] = KeyValue(kv);
        return result;
    }

    public static EtcdRangeResult Range(JsonElement response) => new(Revision(response), KeyValues(response));

    public static EtcdTxnResult Txn(JsonElement response)
    {
        var results = new List<EtcdOpResult>();
        if (response.TryGetProperty("responses", out var responses) && responses.ValueKind == JsonValueKind.Array)
        {
            foreach (var op in responses.EnumerateArray())
            {
                if (op.TryGetProperty("response_range", out var range)) results.Add(new EtcdOpResult(KeyValues(range), 0));
                else if (op.TryGetProperty("response_delete_range", out var delete)) results.Add(new EtcdOpResult(null, Int64(delete, "deleted")));
                else results.Add(new EtcdOpResult(null, 0));
            }
        }
        return new EtcdTxnResult(Bool(response, "succeeded"), Revision(response), results);
    }

    public static EtcdWatchResponse Watch(JsonElement response)
    {
        var events = new List<EtcdEvent>();
        if (response.TryGetProperty("events", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in list.EnumerateArray())
            {
                var kv = e.TryGetProperty("kv", out var k) ? KeyValue(k) : new EtcdKeyValue("", "", 0, 0, 0, 0);
                events.Add(new EtcdEvent(String(e, "type") == "DELETE", kv));
            }
        }
        return new EtcdWatchResponse(Bool(response, "created"), Bool(response, "canceled"), Int64(response, "compact_revision"), String(response, "cancel_reason"), events);
    }
}
