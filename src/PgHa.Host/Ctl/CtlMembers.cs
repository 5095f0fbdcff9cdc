using PgHa.Cluster;

namespace PgHa.Host.Ctl;

/// <summary>patronictl's member selection: <c>--role</c> values, <c>get_all_members</c> and <c>get_members</c>.</summary>
public static class CtlMembers
{
    /// <summary>The values <c>--role</c> accepts.</summary>
    public static readonly string[] Roles = ["leader", "primary", "standby-leader", "replica", "standby", "any", "master"];

    /// <summary>Members with <paramref name="role"/>: the lock holder for leader roles, everyone but it for replica roles, all for <c>any</c>.</summary>
    public static IEnumerable<Member> WithRole(ClusterState cluster, string role)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (role is "leader" or "master" or "primary" or "standby-leader")
        {
            if (cluster.LeaderMember is { } leader
                && (role == "leader"
                    || (role == "standby-leader" && leader.Role != MemberRole.Primary)
                    || (role is "master" or "primary" && leader.Role != MemberRole.StandbyLeader)))
                yield return leader;
            yield break;
        }
        foreach (var m in cluster.Members)
            if (role == "any" || (role is "replica" or "standby" && m.Name != cluster.LeaderName))
                yield return m;
    }

    /// <summary>Members with a REST API, the leader first (where pause/resume and flush try their luck).</summary>
    public static IEnumerable<Member> LeaderFirst(ClusterState cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var leader = cluster.LeaderMember is { ApiUrl: not null } l ? l : null;
        if (leader is not null) yield return leader;
        foreach (var m in cluster.Members)
            if (m.ApiUrl is not null && m.Name != leader?.Name) yield return m;
    }

    /// <summary>
    /// patronictl's <c>get_members</c>: shows the cluster, narrows <paramref name="names"/> to members with the role
    /// (all of them when none are named, except for reinitialize, which asks), and asks for confirmation unless forced.
    /// </summary>
    public static List<Member> Select(CtlSession session, ClusterState cluster, IReadOnlyList<string> names, string role, bool force, string action, bool confirm = true)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(cluster);
        var members = WithRole(cluster, role).ToList();
        var candidates = members.Select(m => m.Name).ToList();
        // patronictl's role option always has a value, so the table is always shown.
        if (names.Count == 0 && candidates.Count == 0)
            throw new CtlException($"{session.Scope} cluster doesn't have any members");
        session.Out.Write(ClusterTable.Format(session.Scope, cluster, extended: false, OutputFormat.Pretty));

        List<string> chosen;
        if (names.Count > 0)
        {
            chosen = names.Where(candidates.Contains).Distinct(StringComparer.Ordinal).ToList();
            if (chosen.Count == 0) throw new CtlException($"No {role} among provided members");
        }
        else
        {
            chosen = action == "reinitialize" ? [] : [.. candidates];
        }
        if (chosen.Count == 0 && !force)
            chosen = [CtlPrompts.Prompt(session.Console, $"Which member do you want to {action} [{string.Join(", ", candidates)}]?", "")];
        foreach (var name in chosen)
            if (!candidates.Contains(name)) throw new CtlException($"{name} is not a member of cluster");

        var selected = members.Where(m => chosen.Contains(m.Name)).ToList();
        if (confirm) ConfirmAction(session, selected, force, action, null);
        return selected;
    }

    /// <summary>patronictl's <c>confirm_members_action</c>.</summary>
    public static void ConfirmAction(CtlSession session, IReadOnlyList<Member> members, bool force, string action, string? scheduledAt)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(members);
        if (force) return;
        var names = string.Join(", ", members.Select(m => m.Name));
        if (scheduledAt is not null)
        {
            if (!CtlPrompts.Confirm(session.Console, $"Are you sure you want to schedule {action} of members {names} at {scheduledAt}?"))
                throw new CtlException($"Aborted scheduled {action}");
        }
        else if (!CtlPrompts.Confirm(session.Console, $"Are you sure you want to {action} members {names}?"))
        {
            throw new CtlException($"Aborted {action}");
        }
    }
}
