using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Host.Ctl;

public static partial class CtlCommands
{
    /// <summary>
    /// <c>switchover</c> and <c>failover</c>: checks leader and candidate, asks what was not given and for confirmation
    /// (unless <paramref name="force"/>), then asks the leader (or, without one, the candidate) through
    /// <c>POST /switchover</c> or <c>/failover</c>; when no member answers, writes the <c>failover</c> key directly.
    /// </summary>
    public static async Task<int> FailoverOrSwitchoverAsync(CtlSession session, string action, string? clusterName, string? leader, string? candidate, bool force, string? scheduled, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        console.Out.WriteLine("Current cluster topology");
        console.Out.Write(ClusterTable.Format(session.Scope, cluster, extended: false, OutputFormat.Pretty));

        if (action == "switchover" && string.IsNullOrEmpty(cluster.LeaderName))
            throw new CtlException("This cluster has no leader; a switchover needs one. Use 'pgha ctl failover --candidate NAME' instead.");
        if (leader is null)
        {
            if (force || action == "failover") leader = cluster.LeaderName;
            else leader = CtlPrompts.Prompt(console, IsStandbyCluster(cluster) ? "Standby Leader" : "Primary", cluster.LeaderName);
        }
        if (leader is not null && cluster.LeaderName is { } current && current != leader)
            throw new CtlException($"Member {leader} is not the leader of cluster {session.Scope}");

        var candidates = cluster.Members.Where(m => m.Name != leader && !m.Tags.NoFailover).Select(m => m.Name).Order(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0) throw new CtlException($"No candidates found to {action} to");
        if (candidate is null && !force)
            candidate = CtlPrompts.Prompt(console, "Candidate [" + string.Join(", ", candidates.Select(c => $"'{c}'")) + "]", "");
        if (string.IsNullOrEmpty(candidate)) candidate = null;
        if (action == "failover" && candidate is null) throw new CtlException("Failover could be performed only to a specific candidate");
        if (candidate == leader) throw new CtlException(char.ToUpperInvariant(action[0]) + action[1..] + " target and source are the same.");
        if (candidate is not null && !candidates.Contains(candidate)) throw new CtlException($"Member {candidate} does not exist in cluster {session.Scope}");

        DateTimeOffset? scheduledAt = null;
        string? scheduledText = null;
        if (action == "switchover")
        {
            if (scheduled is null && !force)
            {
                var nextHour = session.Runtime.Time.GetLocalNow().AddHours(1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
                scheduled = CtlPrompts.Prompt(console, $"When should the switchover take place (e.g. {nextHour} ) ", "now");
            }
            scheduledAt = ParseScheduled(scheduled, session.Runtime.Time);
            if (scheduledAt is { } at)
            {
                if (cluster.IsPaused) throw new CtlException("Can't schedule switchover in the paused state");
                scheduledText = FailoverCodec.FormatIso(at);
            }
        }

        if (!force)
        {
            var demote = leader is not null ? ", demoting current leader " + leader : "";
            if (scheduledText is not null)
            {
                if (!CtlPrompts.Confirm(console, $"Are you sure you want to schedule {action} of cluster {session.Scope} at {scheduledText}{demote}?"))
                    throw new CtlException("Aborting scheduled " + action);
            }
            else if (!CtlPrompts.Confirm(console, $"Are you sure you want to {action} cluster {session.Scope}{demote}?"))
            {
                throw new CtlException("Aborting " + action);
            }
        }

        var body = new JsonObject { ["leader"] = leader, ["candidate"] = candidate, ["scheduled_at"] = scheduledText };
        var target = cluster.LeaderName is not null ? cluster.LeaderMember : cluster.GetMember(candidate!);
        var exit = 0;
        try
        {
            if (target is null) throw new MemberUnreachableException($"the leader {cluster.LeaderName} has no member key");
            var reply = await session.RequestAsync(target, HttpMethod.Post, action, body, cancellationToken).ConfigureAwait(false);
            // A member that predates /switchover answers 501; patronictl then asks /failover.
            if (reply.Status == 501 && action == "switchover" && reply.Body.Contains("Server does not support this operation", StringComparison.Ordinal))
                reply = await session.RequestAsync(target, HttpMethod.Post, "failover", body, cancellationToken).ConfigureAwait(false);
            if (reply.Status is 200 or 202)
            {
                cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
                console.Out.WriteLine($"{Timestamp(session.Runtime.Time)} {reply.Body}");
            }
            else
            {
                console.Out.WriteLine($"{char.ToUpperInvariant(action[0]) + action[1..]} failed, details: {reply.Status}, {reply.Body}");
                return 1;
            }
        }
        catch (MemberUnreachableException ex)
        {
            console.Error.WriteLine($"warning: {ex.Message}");
            console.Out.WriteLine($"{Timestamp(session.Runtime.Time)} Could not {action} using Patroni api, falling back to DCS");
            var request = new FailoverRequest(leader, candidate, scheduledAt, default);
            if (!await session.WriteAsync(d => d.TrySetFailoverAsync(request, WriteCondition.Always, CancellationToken.None), $"write the {action} request").ConfigureAwait(false))
                throw new CtlException($"the DCS refused the {action} request; check 'pgha ctl list' and retry");
        }
        console.Out.Write(ClusterTable.Format(session.Scope, cluster, extended: false, OutputFormat.Pretty));
        return exit;
    }

    private static bool IsStandbyCluster(ClusterState cluster) =>
        cluster.Config is { } c && PatroniJson.TryParse(c.RawJson, out _) is JsonObject o && o["standby_cluster"] is JsonObject { Count: > 0 };

    /// <summary>patronictl's <c>parse_scheduled</c>: null for <c>now</c>/empty, else the time (local zone when none is given).</summary>
    public static DateTimeOffset? ParseScheduled(string? scheduled, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (string.IsNullOrEmpty(scheduled) || scheduled == "now") return null;
        if (DateTime.TryParse(scheduled, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.RoundtripKind, out var parsed))
        {
            if (parsed.Kind == DateTimeKind.Unspecified) return new DateTimeOffset(parsed, time.LocalTimeZone.GetUtcOffset(parsed));
            if (DateTimeOffset.TryParse(scheduled, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var withOffset)) return withOffset;
        }
        throw new CtlException($"Unable to parse scheduled timestamp ({scheduled}). It should be in an unambiguous format (e.g. ISO 8601)");
    }
}
