using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.Cluster;

namespace PgHa.Host.Ctl;

/// <summary>The <c>pgha ctl</c> commands, each acting as patronictl 3.0.2's command of the same name.</summary>
public static partial class CtlCommands
{
    /// <summary>patronictl's <c>timestamp()</c>: local time, with microseconds unless <paramref name="fraction"/> is false.</summary>
    internal static string Timestamp(TimeProvider time, bool fraction = true) =>
        time.GetLocalNow().ToString(fraction ? "yyyy-MM-dd HH:mm:ss.ffffff" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>list</c> / <c>topology</c>: the member table of each cluster, refreshed every <paramref name="watch"/> until
    /// cancelled when set.
    /// </summary>
    public static async Task<int> ListAsync(CtlSession session, IReadOnlyList<string> clusterNames, bool extended, bool timestamp, OutputFormat format, TimeSpan? watch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var names = clusterNames.Count > 0 ? clusterNames : [session.Scope];
        var console = session.Console;
        while (true)
        {
            if (watch is not null && console.IsTerminal) console.Out.Write("\u001b[2J\u001b[1;1H");
            if (timestamp) console.Out.WriteLine(Timestamp(session.Runtime.Time, fraction: false));
            foreach (var name in names)
            {
                await session.UseClusterAsync(name).ConfigureAwait(false);
                var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
                foreach (var problem in cluster.Problems) console.Error.WriteLine($"warning: {problem}");
                console.Out.Write(ClusterTable.Format(session.Scope, cluster, extended, format));
            }
            console.Out.Flush();
            if (watch is not { } interval) return 0;
            await Task.Delay(interval, session.Runtime.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>history</c>: the timeline switches from the <c>history</c> key.</summary>
    public static async Task<int> HistoryAsync(CtlSession session, string? clusterName, OutputFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        session.Out.Write(FormatHistory(cluster.History, format));
        return 0;
    }

    /// <summary>The history table (TL, LSN, Reason, Timestamp, New Leader); old three-field lines get empty cells.</summary>
    public static string FormatHistory(TimelineHistory? history, OutputFormat format)
    {
        var rows = new List<JsonNode?[]>();
        foreach (var e in history?.Entries ?? [])
            rows.Add([TableOutput.Int(e.Timeline), TableOutput.Int(e.SwitchLsn), TableOutput.Text(e.Reason), TableOutput.Text(e.Timestamp), TableOutput.Text(e.NewLeader)]);
        return TableOutput.Format(["TL", "LSN", "Reason", "Timestamp", "New Leader"], rows, new HashSet<string>(StringComparer.Ordinal) { "TL", "LSN" }, format == OutputFormat.Topology ? OutputFormat.Pretty : format);
    }

    /// <summary><c>dsn</c>: <c>host=… port=…</c> of the leader, of a member with <paramref name="role"/>, or of <paramref name="member"/>.</summary>
    public static async Task<int> DsnAsync(CtlSession session, string? clusterName, string? role, string? member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (member is not null)
        {
            if (role is not null) throw new CtlException("--role and --member are mutually exclusive options");
            role = "any";
        }
        role ??= "leader";
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var m = CtlMembers.WithRole(cluster, role).FirstOrDefault(x => member is null || x.Name == member)
            ?? throw new CtlException("Can not find a suitable member");
        if (m.ConnHost is not { } host) throw new CtlException($"member {m.Name} publishes no usable conn_url ('{m.ConnUrl}')");
        session.Out.WriteLine($"host={host} port={m.ConnPort}");
        return 0;
    }

    /// <summary><c>version</c>: this program's version, and with a cluster name each member's agent and PostgreSQL version (<c>GET /patroni</c>).</summary>
    public static async Task<int> VersionAsync(CtlSession? session, ICtlConsole console, string? clusterName, IReadOnlyList<string> memberNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        console.Out.WriteLine($"pgha ctl version {CtlVersion.Text}");
        if (string.IsNullOrEmpty(clusterName) || session is null) return 0;
        console.Out.WriteLine();
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var failed = 0;
        foreach (var m in cluster.Members.Where(m => m.ApiUrl is not null && (memberNames.Count == 0 || memberNames.Contains(m.Name))))
        {
            try
            {
                var reply = await session.RequestAsync(m, HttpMethod.Get, "patroni", null, cancellationToken).ConfigureAwait(false);
                var data = PgHa.Cluster.Serialization.PatroniJson.TryParse(reply.Body, out var error) as JsonObject
                    ?? throw new MemberUnreachableException($"status {reply.Status}, not a JSON object: {error ?? reply.Body}");
                var version = data["patroni"]?["version"] is { } v ? TableOutput.Str(v) : "None";
                var pg = data["server_version"] is JsonValue sv && sv.TryGetValue<long>(out var num) && num > 0 ? " PostgreSQL " + FormatPgVersion(num) : "";
                console.Out.WriteLine($"{m.Name}: Patroni {version}{pg}");
            }
            catch (MemberUnreachableException ex)
            {
                failed++;
                console.Out.WriteLine($"{m.Name}: failed to get version: {ex.Message}");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static string FormatPgVersion(long version) => version < 100000
        ? $"{version / 10000}.{version / 100 % 100}.{version % 100}"
        : $"{version / 10000}.{version % 100}";
}
