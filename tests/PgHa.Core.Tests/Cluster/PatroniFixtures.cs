using System.Globalization;
using System.Text;
using System.Text.Json;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// Access to the values a real Patroni 3.0.2 cluster wrote into etcd (<c>Fixtures/patroni-3.0.2/etcd3</c>): one folder
/// per captured state with one file per key and <c>_meta.json</c>, and <c>event-log.json</c> with every revision.
/// </summary>
internal static class PatroniFixtures
{
    /// <summary>Decodes fixture bytes; invalid UTF-8 throws instead of being replaced.</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly Lazy<IReadOnlyList<LogEvent>> LazyEvents = new(LoadEvents);
    private static readonly Lazy<IReadOnlyDictionary<string, long>> LazyStateRevisions = new(LoadStateRevisions);

    /// <summary>The folder holding the captured states.</summary>
    public static string Root { get; } = Path.Combine(AppContext.BaseDirectory, "Fixtures", "patroni-3.0.2", "etcd3");

    /// <summary>The key prefix of the captured cluster.</summary>
    public const string Prefix = "/service/batman/";

    /// <summary>Captured states, by name.</summary>
    public static IReadOnlyList<string> States =>
        [.. Directory.GetDirectories(Root).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal)];

    /// <summary>One key of a snapshot as <c>_meta.json</c> describes it.</summary>
    /// <param name="Key">Key relative to the cluster prefix (<c>members/node1</c>).</param>
    /// <param name="File">File holding the value.</param>
    /// <param name="CreateRevision">etcd create_revision.</param>
    /// <param name="ModRevision">etcd mod_revision: the version token of the value.</param>
    /// <param name="Version">etcd version (number of writes since creation).</param>
    /// <param name="Lease">Lease id, 0 when none.</param>
    public sealed record KeyMeta(string Key, string File, long CreateRevision, long ModRevision, long Version, long Lease)
    {
        /// <summary>The DCS version token PgHa's etcd adapter uses: the mod_revision.</summary>
        public DcsVersion DcsVersion => new(ModRevision.ToString(CultureInfo.InvariantCulture));

        /// <summary>The session (lease id, decimal), or null when the key has no lease.</summary>
        public string? Session => Lease == 0 ? null : Lease.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>One put or delete of <c>event-log.json</c>.</summary>
    /// <param name="Revision">etcd revision of the event.</param>
    /// <param name="Type"><c>put</c> or <c>delete</c>.</param>
    /// <param name="Key">Key relative to the cluster prefix.</param>
    /// <param name="Value">The value written (null for a delete).</param>
    /// <param name="CreateRevision">create_revision after a put.</param>
    /// <param name="Version">version after a put.</param>
    /// <param name="HasLease">Whether the put carried a lease.</param>
    public sealed record LogEvent(long Revision, string Type, string Key, string? Value, long CreateRevision, long Version, bool HasLease)
    {
        /// <summary>True for a put.</summary>
        public bool IsPut => Type == "put";

        /// <inheritdoc />
        public override string ToString() => $"rev {Revision} {Type} {Key}";
    }

    /// <summary>The keys of a snapshot, from its <c>_meta.json</c>.</summary>
    public static IReadOnlyList<KeyMeta> Meta(string state)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, state, "_meta.json")));
        var prefix = doc.RootElement.GetProperty("prefix").GetString()!;
        return
        [
            .. doc.RootElement.GetProperty("keys").EnumerateArray().Select(k => new KeyMeta(
                k.GetProperty("key").GetString()![prefix.Length..],
                k.GetProperty("file").GetString()!,
                k.GetProperty("create_revision").GetInt64(),
                k.GetProperty("mod_revision").GetInt64(),
                k.GetProperty("version").GetInt64(),
                k.GetProperty("lease").GetInt64())),
        ];
    }

    /// <summary>The header revision of a snapshot.</summary>
    public static long Revision(string state)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, state, "_meta.json")));
        return doc.RootElement.GetProperty("revision").GetInt64();
    }

    /// <summary>The raw bytes of a file of a snapshot.</summary>
    public static byte[] Bytes(string state, string file) => File.ReadAllBytes(Path.Combine(Root, state, file));

    /// <summary>The value of a file of a snapshot, strictly UTF-8 decoded.</summary>
    public static string Text(string state, string file) => StrictUtf8.GetString(Bytes(state, file));

    /// <summary>The raw entries of a snapshot, as an etcd adapter hands them to <see cref="ClusterStateReader"/>.</summary>
    public static IReadOnlyList<DcsEntry> Entries(string state) =>
        [.. Meta(state).Select(m => new DcsEntry(m.Key, Text(state, m.File), m.DcsVersion, m.Session))];

    /// <summary>A snapshot read through <see cref="ClusterStateReader"/>.</summary>
    public static ClusterState Read(string state) => ClusterStateReader.Read(Entries(state));

    /// <summary>Every event of the log, in revision order.</summary>
    public static IReadOnlyList<LogEvent> Events => LazyEvents.Value;

    /// <summary>The revision at which each state was captured.</summary>
    public static IReadOnlyDictionary<string, long> StateRevisions => LazyStateRevisions.Value;

    /// <summary>The put event of a revision.</summary>
    public static LogEvent Event(long revision) => Events.Single(e => e.Revision == revision);

    /// <summary>
    /// The lease id each node used, from the snapshots' <c>members/&lt;name&gt;</c> keys (a node keeps one lease for
    /// the whole run; the leader key carries the leader's).
    /// </summary>
    public static string? NodeLease(string memberName)
    {
        foreach (var state in States)
            foreach (var m in Meta(state))
                if (m.Key == ClusterKeys.Member(memberName) && m.Lease != 0)
                    return m.Session;
        return null;
    }

    /// <summary>
    /// A put event as the etcd adapter would read it at that revision: version = the revision, session = the writer's
    /// lease (the member's own for <c>members/&lt;name&gt;</c>, the holder's for <c>leader</c>).
    /// </summary>
    public static DcsEntry EntryOf(LogEvent e)
    {
        if (!e.IsPut) throw new ArgumentException($"{e} is not a put", nameof(e));
        string? session = null;
        if (e.HasLease)
        {
            var owner = e.Key == ClusterKeys.Leader ? e.Value! : e.Key[ClusterKeys.MembersPrefix.Length..];
            session = NodeLease(owner) ?? throw new InvalidOperationException($"no lease known for {owner}");
        }
        return new DcsEntry(e.Key, e.Value!, new DcsVersion(e.Revision.ToString(CultureInfo.InvariantCulture)), session);
    }

    /// <summary>The keys as they stood right after <paramref name="revision"/>: key → its last put (deleted keys absent).</summary>
    public static IReadOnlyDictionary<string, LogEvent> ReplayUntil(long revision)
    {
        var store = new SortedDictionary<string, LogEvent>(StringComparer.Ordinal);
        foreach (var e in Events.TakeWhile(e => e.Revision <= revision))
        {
            if (e.IsPut) store[e.Key] = e;
            else store.Remove(e.Key);
        }
        return store;
    }

    private static IReadOnlyList<LogEvent> LoadEvents()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "event-log.json")));
        var prefix = doc.RootElement.GetProperty("prefix").GetString()!;
        var events = new List<LogEvent>();
        foreach (var e in doc.RootElement.GetProperty("events").EnumerateArray())
        {
            var type = e.GetProperty("type").GetString()!;
            var key = e.GetProperty("key").GetString()!;
            if (key.StartsWith(prefix, StringComparison.Ordinal)) key = key[prefix.Length..];
            var put = type == "put";
            events.Add(new LogEvent(
                e.GetProperty("revision").GetInt64(), type, key,
                put ? e.GetProperty("value").GetString() : null,
                put ? e.GetProperty("create_revision").GetInt64() : 0,
                put ? e.GetProperty("version").GetInt64() : 0,
                put && e.GetProperty("has_lease").GetBoolean()));
        }
        return events;
    }

    private static IReadOnlyDictionary<string, long> LoadStateRevisions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "event-log.json")));
        return doc.RootElement.GetProperty("state_revisions").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
    }

    /// <summary>
    /// The part of <paramref name="cluster"/> stored under <paramref name="key"/>, written back with its codec (plain
    /// values as they are), with its version token and session.
    /// </summary>
    public static (string? Value, DcsVersion? Version, string? Session) WriteBack(ClusterState cluster, string key) => key switch
    {
        ClusterKeys.Initialize => (cluster.Initialize?.SystemId, cluster.Initialize?.Version, null),
        ClusterKeys.Leader => (cluster.Leader?.Holder, cluster.Leader?.Version, cluster.Leader?.Session),
        ClusterKeys.Config => (cluster.Config is { } c ? ConfigCodec.Serialize(c) : null, cluster.Config?.Version, null),
        ClusterKeys.Status => (cluster.Status is { } s ? StatusCodec.Serialize(s) : null, cluster.Status?.Version, null),
        ClusterKeys.Failover => (cluster.Failover is { } f ? FailoverCodec.Serialize(f) : null, cluster.Failover?.Version, null),
        ClusterKeys.Sync => (cluster.Sync is { } y ? SyncCodec.Serialize(y) : null, cluster.Sync?.Version, null),
        ClusterKeys.History => (cluster.History is { } h ? HistoryCodec.Serialize(h) : null, cluster.History?.Version, null),
        ClusterKeys.Failsafe => (cluster.Failsafe is { } x ? FailsafeCodec.Serialize(x) : null, cluster.Failsafe?.Version, null),
        _ when key.StartsWith(ClusterKeys.MembersPrefix, StringComparison.Ordinal) && cluster.GetMember(key[ClusterKeys.MembersPrefix.Length..]) is { } m
            => (MemberCodec.Serialize(m), m.Version, m.Session),
        _ => (null, null, null),
    };

    /// <summary>True when <paramref name="value"/> was written with Python's default separators (<c>patronictl edit-config</c>).</summary>
    public static bool HasDefaultSeparators(string value) => value.Contains("\": ", StringComparison.Ordinal) || value.Contains(", \"", StringComparison.Ordinal);
}
