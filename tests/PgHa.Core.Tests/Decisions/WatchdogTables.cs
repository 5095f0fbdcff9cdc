using NUnit.Framework;
using PgHa.Cluster;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// <c>watchdog.mode: required</c> with a watchdog that cannot be used (patroni-compat.md §5.11): the node never takes
/// the lock and a leader steps down; an armed watchdog also bounds how long a primary rides out a DCS outage.
/// </summary>
[TestFixture]
public sealed class WatchdogTables
{
    private const string Wins = "acquire-lock{won:[promote] lost:[]}";
    private static ClusterState Mine => LedBy(Me, Members(primary: Me));

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    private static Situation Unusable(Situation s) => s with { Local = s.Local with { WatchdogHealthy = false } };

    internal static IEnumerable<TestCaseData> Cases()
    {
        var unlocked = Unlocked(Member(Me), Member(Node2), Member(Node3));
        var raceable = Node(Pg.RunningReplica(following: null), unlocked).WithPeers(Peer(Node2), Peer(Node3));

        yield return Row("Healthiest replica with a usable watchdog races as usual",
            raceable, Wins);
        yield return Row("Healthiest replica whose required watchdog is unusable does not race",
            Unusable(raceable), "none");
        yield return Row("Only member whose required watchdog is unusable does not race either",
            Unusable(Node(Pg.RunningReplica(following: null), Unlocked(Member(Me)))), "none");
        yield return Row("Running primary of an unlocked cluster whose required watchdog is unusable demotes instead of racing",
            Unusable(Node(Pg.RunningPrimary(), Unlocked(Members(primary: Me)))).WithPeers(Peer(Node2), Peer(Node3)), "demote-immediatenolock");
        yield return Row("Running primary without an initialize key is not adopted when its required watchdog is unusable",
            Unusable(Node(Pg.RunningPrimary(), Unlocked(Members(primary: Me)) with { Initialize = null })).WithPeers(Peer(Node2), Peer(Node3)), "demote-immediatenolock");
        yield return Row("Paused replica's unusable watchdog does not matter: nothing races in pause anyway",
            Unusable(raceable).Paused(), "none");
        yield return Row("Paused primary of an unlocked cluster takes its lock back although its watchdog is unusable",
            Unusable(Node(Pg.RunningPrimary(), Unlocked(Members(primary: Me))).Paused()), "acquire-lock{won:[] lost:[]}");

        yield return Row("Leader whose required watchdog became unusable demotes and releases the lock",
            Unusable(Node(Pg.RunningPrimary(), Mine)), "demote-immediate");
        yield return Row("Lock holder in recovery whose required watchdog is unusable releases the lock instead of promoting",
            Unusable(Node(Pg.RunningReplica(null), Mine)), "release-lock");
        yield return Row("Paused leader keeps the lock although its watchdog is unusable (the watchdog is off in pause)",
            Unusable(Node(Pg.RunningPrimary(), Mine)).Paused(), "renew-lock{ok:[] fail:[]}");
        yield return Row("Lock holder whose crashed primary cannot be guarded by the required watchdog releases the lock",
            Unusable(Node(Pg.StoppedPrimary, Mine)), "release-lock");
        yield return Row("Lock holder restarts its crashed primary in place when the watchdog is usable",
            Node(Pg.StoppedPrimary, Mine), "renew-lock{ok:[start-primary] fail:[follow(-)]}");
        yield return Row("Node whose required watchdog is unusable does not bootstrap a new cluster",
            Unusable(Node(Pg.EmptyDataDir, NeverBootstrapped)), "none");
        yield return Row("Replica whose required watchdog is unusable still follows the leader",
            Unusable(Node(Pg.RunningReplica(Node2), LedBy(Node2, Members(primary: Node2)))), "none");

        // DCS outage: keep serving only while another retry fits before both the lock's guarantee and the watchdog.
        yield return Row("DCS not accessible keeps a primary whose lock and armed watchdog both outlast another retry",
            Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(20) }), "none");
        yield return Row("DCS not accessible demotes a primary whose armed watchdog fires within one retry although its lock lasts",
            FiresIn(Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(20) }), TimeSpan.FromSeconds(10.5)), "demote-offline");
        yield return Row("DCS not accessible keeps a primary whose armed watchdog fires later than one retry",
            FiresIn(Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(20) }), TimeSpan.FromSeconds(15)), "none");
        yield return Row("DCS not accessible demotes a primary whose lock guarantee ends first, whatever the watchdog",
            FiresIn(Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(10.5) }), TimeSpan.FromSeconds(25)), "demote-offline");
    }

    private static Situation FiresIn(Situation s, TimeSpan after) => s with { Local = s.Local with { WatchdogFiresAt = Now + after } };
}
