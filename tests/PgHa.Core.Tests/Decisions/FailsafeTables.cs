using System.Collections.Immutable;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// Failsafe mode (patroni-compat.md §5.7, §1 <c>failsafe</c> key): the leader's confirmation round when the DCS is out of
/// reach, its upkeep of the key, and the rules that keep other nodes from racing while a leader runs on confirmations.
/// </summary>
[TestFixture]
public sealed class FailsafeTables
{
    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    private static ImmutableDictionary<string, string> Map(params string[] names) =>
        names.ToImmutableDictionary(n => n, n => $"http://{n}:8008/patroni", StringComparer.Ordinal);

    private static ClusterState WithKey(ClusterState cluster, params string[] names) =>
        cluster with { Failsafe = new FailsafeMembers(Map(names), new DcsVersion("fs-1")) };

    private static Situation On(Situation s) => s.With(x => x with { FailsafeMode = true });

    private static Situation Knowing(Situation s, params string[] names) =>
        s.WithMemory(m => m with { Failsafe = m.Failsafe with { Known = Map(names) } });

    private static Situation Promised(Situation s, string leader, TimeSpan ago) =>
        s.WithMemory(m => m with { Failsafe = m.Failsafe with { Leader = new FailsafeLeader(leader, $"postgres://{leader}:5432/postgres", $"http://{leader}:8008/patroni", Now - ago) } });

    internal static IEnumerable<TestCaseData> Cases()
    {
        var all = new[] { Me, Node2, Node3 };
        var cutOff = On(Node(Pg.RunningPrimary(), cluster: null));

        // The leader without the DCS (patroni-compat.md §5.7).
        yield return Row("Failsafe: leader without the DCS asks every other member of the failsafe key",
            Knowing(cutOff, all), "confirm-failsafe(node2,node3){confirmed:[] refused:[demote-offline]}");
        yield return Row("Failsafe: a refused round leaves a still guaranteed leader running",
            Knowing(cutOff, all).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(25) }), "confirm-failsafe(node2,node3){confirmed:[] refused:[]}");
        yield return Row("Failsafe: a one-member cluster confirms itself",
            Knowing(cutOff, Me), "confirm-failsafe(){confirmed:[] refused:[demote-offline]}");
        yield return Row("Failsafe: a leader the key does not name demotes as usual",
            Knowing(cutOff, Node2, Node3), "demote-offline");
        yield return Row("Failsafe: a leader that never read a failsafe key demotes as usual",
            cutOff, "demote-offline");
        yield return Row("Failsafe: with the mode off the key is ignored and the leader demotes",
            Knowing(Node(Pg.RunningPrimary(), cluster: null), all), "demote-offline");
        yield return Row("Failsafe: a map written with an unknown outcome is asked too",
            Knowing(cutOff, Me, Node2).WithMemory(m => m with { Failsafe = m.Failsafe with { Pending = Map(all) } }),
            "confirm-failsafe(node2,node3){confirmed:[] refused:[demote-offline]}");
        yield return Row("Failsafe: paused leader without the DCS keeps running without asking",
            Knowing(cutOff, all).Paused(), "none");
        yield return Row("Failsafe: replica without the DCS does nothing",
            Knowing(On(Node(Pg.RunningReplica(Node2), cluster: null)), all), "none");

        // The leader with the DCS keeps the key current.
        var leading = On(Node(Pg.RunningPrimary(), LedBy(Me, Members(primary: Me))));
        yield return Row("Failsafe: leader writes the failsafe key after renewing when it is missing",
            leading, "renew-lock{ok:[write-failsafe] fail:[demote-immediatenolock]}");
        yield return Row("Failsafe: leader rewrites a key that misses a member",
            leading with { Cluster = WithKey(leading.Cluster!, Me, Node2) }, "renew-lock{ok:[write-failsafe] fail:[demote-immediatenolock]}");
        yield return Row("Failsafe: leader leaves a current key alone and runs a round if the renewal finds no DCS",
            Knowing(leading with { Cluster = WithKey(leading.Cluster!, all) }, all),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}{dcs-down:[confirm-failsafe(node2,node3){confirmed:[] refused:[demote-immediatenolock]}]}");
        yield return Row("Failsafe: a leader back from an outage on confirmations retakes a lock its renewal finds gone",
            Knowing(leading with { Cluster = WithKey(leading.Cluster!, all) }, all).WithMemory(m => m with { Failsafe = m.Failsafe with { ConfirmedUntil = Now + TimeSpan.FromSeconds(5) } }),
            "renew-lock{ok:[] fail:[acquire-lock{won:[] lost:[demote-immediatenolock]}]}{dcs-down:[confirm-failsafe(node2,node3){confirmed:[] refused:[demote-immediatenolock]}]}");
        yield return Row("Failsafe: once the last round's guarantee ended a lost renewal demotes as usual",
            Knowing(leading with { Cluster = WithKey(leading.Cluster!, all) }, all).WithMemory(m => m with { Failsafe = m.Failsafe with { ConfirmedUntil = Now - TimeSpan.FromSeconds(1) } }),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}{dcs-down:[confirm-failsafe(node2,node3){confirmed:[] refused:[demote-immediatenolock]}]}");
        yield return Row("Failsafe: leader whose member key is not published yet writes no key",
            leading with { Cluster = leading.Cluster! with { Members = [Member(Node2), Member(Node3)] } }, "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Failsafe: with the mode off the leader writes no key",
            Node(Pg.RunningPrimary(), LedBy(Me, Members(primary: Me))), "renew-lock{ok:[] fail:[demote-immediatenolock]}");

        // Other nodes while a leader may be running on confirmations.
        var unlocked = On(Node(Pg.RunningReplica(Node2), WithKey(Unlocked(Members(primary: null)), all)));
        yield return Row("Failsafe: a replica that confirmed a leader does not race for the free lock",
            Promised(unlocked, Node2, TimeSpan.FromSeconds(5)), "none");
        yield return Row("Failsafe: the promise binds even with failsafe mode switched off since",
            Promised(unlocked.With(s => s with { FailsafeMode = false }), Node2, TimeSpan.FromSeconds(5)), "none");
        yield return Row("Failsafe: a replica races again once ttl passed since its confirmation",
            Promised(unlocked, Node2, TimeSpan.FromSeconds(31)), Situation.AsksForPeers);
        yield return Row("Failsafe: a lock holder that confirmed another leader renews without promoting",
            Promised(On(Node(Pg.RunningReplica(null), WithKey(LedBy(Me, Members(primary: null)), all))), Node2, TimeSpan.FromSeconds(5)),
            "renew-lock{ok:[] fail:[]}");
        yield return Row("Failsafe: an agent started less than ttl ago does not race while a key exists",
            unlocked.WithMemory(m => m with { Failsafe = m.Failsafe with { AgentStartedAt = Now - TimeSpan.FromSeconds(10) } }), "none");
        yield return Row("Failsafe: an agent started more than ttl ago races",
            unlocked.WithMemory(m => m with { Failsafe = m.Failsafe with { AgentStartedAt = Now - TimeSpan.FromSeconds(40) } }), Situation.AsksForPeers);

        var outsider = On(Node(Pg.RunningReplica(Node2), WithKey(Unlocked(Members(primary: null)), Node2, Node3)));
        yield return Row("Failsafe: a node the key does not name asks the key's members first",
            outsider, Situation.AsksForPeers);
        yield return Row("Failsafe: a node the key does not name does not race while a key member is silent",
            outsider.WithPeers(Peer(Node2), Unreachable(Node3)), "none");
        yield return Row("Failsafe: a node the key does not name does not race while a key member runs as a primary",
            outsider.WithPeers(Peer(Node2, role: MemberRole.Primary), Peer(Node3)), "none");
        yield return Row("Failsafe: a node the key does not name races once every key member answered as a replica",
            outsider.WithPeers(Peer(Node2), Peer(Node3)), "acquire-lock{won:[promote] lost:[]}");
        yield return Row("Failsafe off: the key does not keep a node it does not name from racing",
            outsider.With(s => s with { FailsafeMode = false }).WithPeers(Peer(Node2), Unreachable(Node3)), "acquire-lock{won:[promote] lost:[]}");

        // A failover candidate that failsafe mode keeps from racing is not waited for.
        var failover = WithKey(Unlocked(Members(primary: null)), Me, Node3).WithFailover(null, Node2);
        yield return Row("Failsafe: others race instead of waiting for a failover candidate the key does not name",
            On(Node(Pg.RunningReplica(Node2), failover)).WithPeers(Peer(Node2, lsn: LeaderOptime), Peer(Node3)), "acquire-lock{won:[clear-failover promote] lost:[]}");
        yield return Row("Failsafe off: others wait for the healthy failover candidate",
            Node(Pg.RunningReplica(Node2), failover).WithPeers(Peer(Node2, lsn: LeaderOptime), Peer(Node3)), "none");
    }
}
