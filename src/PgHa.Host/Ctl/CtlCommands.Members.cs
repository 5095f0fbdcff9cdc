using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Operations;

namespace PgHa.Host.Ctl;

/// <summary>What <c>restart</c> was asked to do.</summary>
/// <param name="Members">Member names (all members with the role when empty).</param>
/// <param name="Role">Only members with this role.</param>
/// <param name="Any">Restart one member, chosen at random.</param>
/// <param name="Scheduled">When (ISO 8601), or null to ask / now.</param>
/// <param name="PgVersion">Restart only if the running PostgreSQL is older.</param>
/// <param name="Pending">Restart only members with pending_restart.</param>
/// <param name="Timeout">Fail (and fail over if needed) when the restart takes longer, in seconds.</param>
/// <param name="Force">Do not ask.</param>
public sealed record RestartRequestOptions(IReadOnlyList<string> Members, string Role, bool Any, string? Scheduled, string? PgVersion, bool Pending, string? Timeout, bool Force);

public static partial class CtlCommands
{
    /// <summary><c>restart</c>: <c>POST /restart</c> on each chosen member, with patronictl's questions and conditions.</summary>
    public static async Task<int> RestartAsync(CtlSession session, string clusterName, RestartRequestOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(options);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var members = CtlMembers.Select(session, cluster, options.Members, options.Role, options.Force, "restart", confirm: false);

        var scheduled = options.Scheduled;
        if (scheduled is null && !options.Force)
        {
            var nextHour = session.Runtime.Time.GetLocalNow().AddHours(1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
            scheduled = CtlPrompts.Prompt(console, $"When should the restart take place (e.g. {nextHour}) ", "now");
        }
        var scheduledAt = ParseScheduled(scheduled, session.Runtime.Time);
        var scheduledText = scheduledAt is { } at ? FailoverCodec.FormatIso(at) : null;
        CtlMembers.ConfirmAction(session, members, options.Force, "restart", scheduledText);
        if (options.Any && members.Count > 1) members = [members[Random.Shared.Next(members.Count)]];

        var version = options.PgVersion;
        if (version is null && !options.Force)
            version = CtlPrompts.Prompt(console, "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ", "");

        var content = new JsonObject();
        if (options.Pending) content["restart_pending"] = true;
        if (!string.IsNullOrEmpty(version))
        {
            if (!DynamicParameters.TryParsePostgresVersion(version, out _))
                throw new CtlException($"Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: {version}");
            content["postgres_version"] = version;
        }
        if (scheduledText is not null)
        {
            if (cluster.IsPaused) throw new CtlException("Can't schedule restart in the paused state");
            content["schedule"] = scheduledText;
        }
        if (options.Timeout is not null) content["timeout"] = options.Timeout;

        var failed = 0;
        foreach (var member in members)
        {
            try
            {
                if (content.ContainsKey("schedule") && options.Force && HasScheduledRestart(member))
                {
                    var flush = await session.RequestAsync(member, HttpMethod.Delete, "restart", null, cancellationToken).ConfigureAwait(false);
                    CheckResponse(console, flush, member.Name, "flush scheduled restart", silentSuccess: true);
                }
                var reply = await session.RequestAsync(member, HttpMethod.Post, "restart", content, cancellationToken).ConfigureAwait(false);
                switch (reply.Status)
                {
                    case 200: console.Out.WriteLine($"Success: restart on member {member.Name}"); break;
                    case 202: console.Out.WriteLine($"Success: restart scheduled on member {member.Name}"); break;
                    case 409:
                        failed++;
                        console.Out.WriteLine($"Failed: another restart is already scheduled on member {member.Name}");
                        break;
                    default:
                        failed++;
                        console.Out.WriteLine($"Failed: restart for member {member.Name}, status code={reply.Status}, ({reply.Body})");
                        break;
                }
            }
            catch (MemberUnreachableException ex)
            {
                failed++;
                console.Out.WriteLine($"Failed: restart for member {member.Name}, {ex.Message}. Check that its agent is running.");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /// <summary><c>reload</c>: <c>POST /reload</c> on each chosen member.</summary>
    public static async Task<int> ReloadAsync(CtlSession session, string clusterName, IReadOnlyList<string> memberNames, string role, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var members = CtlMembers.Select(session, cluster, memberNames, role, force, "reload");
        var failed = 0;
        foreach (var member in members)
        {
            try
            {
                var reply = await session.RequestAsync(member, HttpMethod.Post, "reload", null, cancellationToken).ConfigureAwait(false);
                if (reply.Status == 200) console.Out.WriteLine($"No changes to apply on member {member.Name}");
                else if (reply.Status == 202)
                    console.Out.WriteLine($"Reload request received for member {member.Name} and will be processed within {cluster.EffectiveConfig.LoopWait} seconds");
                else
                {
                    failed++;
                    console.Out.WriteLine($"Failed: reload for member {member.Name}, status code={reply.Status}, ({reply.Body})");
                }
            }
            catch (MemberUnreachableException ex)
            {
                failed++;
                console.Out.WriteLine($"Failed: reload for member {member.Name}, {ex.Message}. Check that its agent is running.");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// <c>reinit</c>: <c>POST /reinitialize</c> on each chosen replica (offering to cancel one already in progress); with
    /// <paramref name="wait"/>, polls <c>GET /patroni</c> until each has left <c>creating replica</c>.
    /// </summary>
    public static async Task<int> ReinitAsync(CtlSession session, string clusterName, IReadOnlyList<string> memberNames, bool force, bool wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var members = CtlMembers.Select(session, cluster, memberNames, "replica", force, "reinitialize");
        var failed = 0;
        var waitOn = new List<Member>();
        foreach (var member in members)
        {
            var body = new JsonObject { ["force"] = force };
            while (true)
            {
                RestReply reply;
                try
                {
                    reply = await session.RequestAsync(member, HttpMethod.Post, "reinitialize", body, cancellationToken).ConfigureAwait(false);
                }
                catch (MemberUnreachableException ex)
                {
                    failed++;
                    console.Out.WriteLine($"Failed: reinitialize for member {member.Name}, {ex.Message}. Check that its agent is running.");
                    break;
                }
                var started = CheckResponse(console, reply, member.Name, "reinitialize");
                if (!started && reply.Body.EndsWith(" already in progress", StringComparison.Ordinal) && !force
                    && CtlPrompts.Confirm(console, "Do you want to cancel it and reinitialize anyway?"))
                {
                    body["force"] = true;
                    continue;
                }
                if (!started) failed++;
                else if (wait) waitOn.Add(member);
                break;
            }
        }

        var lastShown = new List<string>();
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        while (waitOn.Count > 0)
        {
            var names = waitOn.Select(m => m.Name).ToList();
            if (!names.SequenceEqual(lastShown))
            {
                console.Out.WriteLine($"Waiting for reinitialize to complete on: {string.Join(", ", names)}");
                lastShown = names;
            }
            await Task.Delay(session.Runtime.PollInterval, session.Runtime.Time, cancellationToken).ConfigureAwait(false);
            foreach (var member in waitOn.ToList())
            {
                string state;
                try
                {
                    var reply = await session.RequestAsync(member, HttpMethod.Get, "patroni", null, cancellationToken).ConfigureAwait(false);
                    state = PatroniJson.TryParse(reply.Body, out _) is JsonObject o && o["state"] is { } s ? TableOutput.Str(s) : "unknown";
                }
                catch (MemberUnreachableException)
                {
                    state = "unreachable";
                }
                // Progress: each state the member passes through (stopping, creating replica, starting, …).
                if (!states.TryGetValue(member.Name, out var previous) || previous != state)
                {
                    states[member.Name] = state;
                    console.Out.WriteLine($"{Timestamp(session.Runtime.Time, fraction: false)} {member.Name}: {state}");
                }
                if (state is not ("creating replica" or "unreachable" or "unknown"))
                {
                    console.Out.WriteLine($"Reinitialize is completed on: {member.Name}");
                    waitOn.Remove(member);
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// <c>flush</c>: <c>restart</c> cancels scheduled restarts (<c>DELETE /restart</c>); <c>switchover</c> cancels the
    /// scheduled switchover through the first member that answers (<c>DELETE /switchover</c>), else clears the
    /// <c>failover</c> key in the DCS with a compare-and-set.
    /// </summary>
    public static async Task<int> FlushAsync(CtlSession session, string clusterName, IReadOnlyList<string> memberNames, string target, string role, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var failed = 0;
        if (target == "restart")
        {
            foreach (var member in CtlMembers.Select(session, cluster, memberNames, role, force, "flush"))
            {
                if (!HasScheduledRestart(member))
                {
                    console.Out.WriteLine($"No scheduled restart for member {member.Name}");
                    continue;
                }
                try
                {
                    var reply = await session.RequestAsync(member, HttpMethod.Delete, "restart", null, cancellationToken).ConfigureAwait(false);
                    if (!CheckResponse(console, reply, member.Name, "flush scheduled restart")) failed++;
                }
                catch (MemberUnreachableException ex)
                {
                    failed++;
                    console.Out.WriteLine($"Failed: flush scheduled restart for member {member.Name}, {ex.Message}. Check that its agent is running.");
                }
            }
            return failed == 0 ? 0 : 1;
        }

        if (cluster.Failover is not { ScheduledAt: not null } failover)
        {
            console.Out.WriteLine("No pending scheduled switchover");
            return 0;
        }
        foreach (var member in CtlMembers.LeaderFirst(cluster))
        {
            try
            {
                var reply = await session.RequestAsync(member, HttpMethod.Delete, "switchover", null, cancellationToken).ConfigureAwait(false);
                if (reply.Status is 200 or 404)
                {
                    console.Out.WriteLine($"{(reply.Status == 200 ? "Success" : "Failed")}: {reply.Body}");
                    return reply.Status == 200 ? 0 : 1;
                }
                console.Out.WriteLine($"Failed: member={member.Name}, status_code={reply.Status}, ({reply.Body})");
            }
            catch (MemberUnreachableException ex)
            {
                console.Error.WriteLine($"warning: {ex.Message}; Member {member.Name} is not accessible");
            }
        }
        console.Out.WriteLine($"{Timestamp(session.Runtime.Time)} Could not find any accessible member of cluster {session.Scope}");
        var cleared = await session.WriteAsync(d => d.TrySetFailoverAsync(FailoverRequest.Cleared, WriteCondition.IfVersion(failover.Version), CancellationToken.None), "clear the scheduled switchover").ConfigureAwait(false);
        if (!cleared) throw new CtlException("the failover key changed meanwhile, nothing was cleared; check 'pgha ctl list' and run flush again");
        return 0;
    }

    private static bool HasScheduledRestart(Member member) =>
        member.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject o && o["scheduled_restart"] is JsonObject { Count: > 0 };

    private static bool CheckResponse(ICtlConsole console, RestReply reply, string member, string action, bool silentSuccess = false)
    {
        if (reply.Status >= 400)
        {
            console.Out.WriteLine($"Failed: {action} for member {member}, status code={reply.Status}, ({reply.Body})");
            return false;
        }
        if (!silentSuccess) console.Out.WriteLine($"Success: {action} for member {member}");
        return true;
    }
}
