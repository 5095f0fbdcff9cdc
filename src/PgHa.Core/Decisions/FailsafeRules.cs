using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Dcs;

namespace PgHa.Decisions;

/// <summary>
/// Failsafe mode (<c>failsafe_mode</c>, patroni-compat.md §5.7): while the DCS is unreachable the leader keeps accepting
/// writes only as long as every member of the <c>failsafe</c> key confirms it through <c>POST /failsafe</c>.
/// </summary>
/// <remarks>
/// <para>Why the write fence may move on a confirmation round. The leader notes the send time <c>s</c> (its clock)
/// before it sends any <c>POST /failsafe</c> of a round. A member that answers <c>Accepted</c> received the request at
/// some <c>r ≥ s</c> and, from <c>r</c> until <c>r + ttl</c>, neither races for the lock nor promotes — even when it
/// finds the lock free or itself holding it. Acceptance and the start of a promotion are decided under one lock, so a
/// member that is promoting (or holds the lock, or runs as a primary) refuses instead. A member that does not appear in
/// a non-empty <c>failsafe</c> key never races while failsafe mode is on. So once every other member of the key has
/// answered, no node can start accepting writes before <c>min over members (r + ttl) ≥ s + ttl</c>, and the leader may
/// move its fence to <c>s + ttl − FenceSafetyMargin</c>, never further; the margin covers clock-rate drift between the
/// machines and the time to stop PostgreSQL, as for the lock itself. A round with any refusal or timeout moves nothing:
/// the leader then keeps running only as far as its last guarantee (lock or earlier round) reaches and demotes as usual.</para>
/// <para>The members asked are the key as last read plus any map this node wrote whose fate is unknown (it may still
/// land, naming a member the read did not). An agent that restarts has forgotten promises of its previous incarnation,
/// so it does not race within ttl of its start while a <c>failsafe</c> key exists.</para>
/// <para>Known gap (shared with Patroni): turning <c>failsafe_mode</c> off while the leader is cut off from the DCS lets
/// members outside the key race while the leader still runs on confirmations.</para>
/// </remarks>
public static class FailsafeRules
{
    /// <summary>
    /// The leader's <c>failsafe</c> key write after a successful renewal: every member with an api_url (this node's own
    /// member key included), only when it differs from the key as read. Null when nothing is to be written.
    /// </summary>
    public static WriteFailsafe? MaintainKey(ClusterState cluster, HaSettings settings)
    {
        if (!settings.FailsafeMode) return null;
        var wanted = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var m in cluster.Members)
            if (m.ApiUrl is { } url) wanted[m.Name] = url;
        // This node's api_url comes from its own member key: without it the map could not name the leader.
        if (!wanted.ContainsKey(settings.MemberName)) return null;
        if (cluster.Failsafe is { } current && SameMembers(current.Members, wanted))
            return null;
        return new WriteFailsafe(wanted.ToImmutable(), WriteCondition.FromRead(cluster.Failsafe?.Version));
    }

    /// <summary>
    /// The confirmation round a leader runs when the DCS cannot be reached, or null when failsafe mode does not apply
    /// (off, or this node is not in the failsafe topology it knows).
    /// </summary>
    public static ConfirmFailsafe? ConfirmationRound(LocalNodeState local, HaSettings settings, ImmutableArray<HaAction> onRefused)
    {
        if (!settings.FailsafeMode || settings.Pause) return null;
        var topology = local.Memory.Failsafe.Topology;
        if (!topology.ContainsKey(settings.MemberName)) return null;
        return new ConfirmFailsafe(topology.Remove(settings.MemberName), [], onRefused);
    }

    /// <summary>
    /// Failsafe mode's objection to this node (not a running primary) racing for a free lock now, or null when it has
    /// none: a promise given to a leader through <c>POST /failsafe</c> still holds; this agent started less than ttl ago
    /// while a key exists; or failsafe mode is on, the non-empty key does not name this node, and not every member the
    /// key names answered the status query as a non-primary (Patroni never lets such a node race; PgHa lets it once it
    /// has seen that no member of the key runs as a primary, so a key naming only departed members cannot block the
    /// cluster for good while they are still reachable). <see cref="HealthVerdict.AskPeers"/>: gather peers first.
    /// </summary>
    public static HealthVerdict? RaceObjection(ClusterState cluster, LocalNodeState local, HaSettings settings, DateTimeOffset now)
    {
        var me = settings.MemberName;
        var memory = local.Memory.Failsafe;
        // A promise binds whatever the configuration says now: the leader relies on it.
        if (memory.PromisedTo(now, settings.Ttl, out var leader) && leader.Name != me)
            return HealthVerdict.No($"{leader.Name} is running as the leader in failsafe mode (confirmed by me at {Format(leader.ReceivedAt)}); not racing before {Format(leader.ReceivedAt + settings.Ttl)}");
        if (cluster.Failsafe is not { Members.Count: > 0 } key) return null;
        if (memory.AgentStartedAt is { } started && now < started + settings.Ttl)
            return HealthVerdict.No($"failsafe key present: this agent started at {Format(started)} and may have promised a leader not to race before it restarted; not racing before {Format(started + settings.Ttl)}");
        if (!settings.FailsafeMode || key.Members.ContainsKey(me)) return null;
        // The leader in failsafe mode does not ask this node, so racing is safe only when no member it asks can be
        // such a leader: every one answered, and none runs as a primary.
        if (!local.HasPeerStatus) return HealthVerdict.AskPeers;
        foreach (var name in key.Members.Keys.Order(StringComparer.Ordinal))
        {
            var peer = local.Peers.FirstOrDefault(p => p.Name == name);
            if (peer is not { Reachable: true })
                return HealthVerdict.No($"failsafe mode: I am not in the failsafe key and its member {name} did not answer; it may be a leader running on failsafe confirmations");
            if (peer.Role == MemberRole.Primary)
                return HealthVerdict.No($"failsafe mode: I am not in the failsafe key and its member {name} runs as a primary");
        }
        return null;
    }

    /// <summary>
    /// Whether <paramref name="member"/> may take over at all under failsafe mode: with the mode on and a non-empty key,
    /// only the members it names race (judging a switchover candidate by this rule keeps others from waiting for it).
    /// </summary>
    public static bool NamedInKey(ClusterState cluster, HaSettings settings, string member) =>
        !settings.FailsafeMode || cluster.Failsafe is not { Members.Count: > 0 } key || key.Members.ContainsKey(member);

    /// <summary>
    /// Why this node, holding the lock but not yet a primary, must not promote now: it promised another leader not to
    /// (a <c>POST /failsafe</c> accepted less than ttl ago). Null when it may.
    /// </summary>
    public static string? PromotionObjection(LocalNodeState local, HaSettings settings, DateTimeOffset now) =>
        local.Memory.Failsafe.PromisedTo(now, settings.Ttl, out var leader) && leader.Name != settings.MemberName
            ? $"I hold the lock, but {leader.Name} runs as the leader in failsafe mode and I confirmed it at {Format(leader.ReceivedAt)}; not promoting before {Format(leader.ReceivedAt + settings.Ttl)}"
            : null;

    /// <summary>
    /// What a leader running on failsafe confirmations does when the DCS is back but its renewal finds the lock gone:
    /// the key expired during the outage (nobody could take it: every member promised not to race), so take it again
    /// instead of demoting; losing that race means another node holds it, and then it demotes at once. Null when the
    /// last round's guarantee has ended (the usual demotion applies).
    /// </summary>
    public static ImmutableArray<HaAction>? RetakeAfterOutage(LocalNodeState local, HaSettings settings, DateTimeOffset now, ImmutableArray<HaAction> onLost) =>
        settings.FailsafeMode && local.Postgres.IsRunningPrimary && local.Memory.Failsafe.ConfirmedUntil is { } until && now < until
            ? [new AcquireLock([], onLost)]
            : null;

    /// <summary>Applies this cycle's read of the <c>failsafe</c> key (null cluster: nothing read) to the memory.</summary>
    public static FailsafeMemory AfterRead(FailsafeMemory memory, ClusterState cluster)
    {
        var key = cluster.Failsafe;
        // A pending write was conditioned on PendingBase: once the key moved past it, it can no longer land.
        var pendingResolved = memory.Pending is not null && !Equals(key?.Version, memory.PendingBase);
        return memory with
        {
            Known = key?.Members ?? ImmutableDictionary<string, string>.Empty,
            Pending = pendingResolved ? null : memory.Pending,
            PendingBase = pendingResolved ? null : memory.PendingBase,
        };
    }

    private static bool SameMembers(ImmutableDictionary<string, string> a, ImmutableDictionary<string, string>.Builder b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    private static string Format(DateTimeOffset t) => t.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
}
