using NUnit.Framework;
using PgHa.Cluster;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// The lock is free: is_healthiest_node and manual_failover_process_no_leader (patroni-compat.md §5.3). The former
/// leader is gone; <see cref="Given.Me"/> is a caught-up replica unless a row says otherwise.
/// </summary>
[TestFixture]
public sealed class LeaderRaceTables
{
    private const string Wins = "acquire-lock{won:[promote] lost:[]}";
    private const string WinsAndClearsFailover = "acquire-lock{won:[clear-failover promote] lost:[]}";
    // A replica that does not race keeps streaming from where it is until a new leader appears.
    private const string StaysReplica = "none";

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var unlocked = Unlocked(Member(Me), Member(Node2), Member(Node3));
        var replica = Node(Pg.RunningReplica(following: null), unlocked);
        var peersBehind = replica.WithPeers(Peer(Node2), Peer(Node3));

        // Healthiest node.
        yield return Row("Healthiest replica takes the lock and promotes",
            peersBehind, Wins);
        yield return Row("Replica asks for peer status before racing",
            replica, Situation.AsksForPeers);
        yield return Row("Peer with a higher WAL position wins so the replica does not race",
            replica.WithPeers(Peer(Node2, lsn: LeaderOptime + 8192), Peer(Node3)), StaysReplica);
        yield return Row("Replica lagging beyond maximum_lag_on_failover does not race",
            Node(Pg.RunningReplica(null, lsn: FarBehind), unlocked).WithPeers(Peer(Node2, lsn: FarBehind - 1), Peer(Node3, lsn: FarBehind - 1)), StaysReplica);
        yield return Row("Replica lagging exactly maximum_lag_on_failover still races",
            Node(Pg.RunningReplica(null, lsn: LeaderOptime - MaxLag), unlocked).WithPeers(Peer(Node2, lsn: 0), Peer(Node3, lsn: 0)), Wins);
        yield return Row("Replica with the nofailover tag does not race",
            peersBehind.WithTags(Tags.NoFailover), StaysReplica);
        yield return Row("Replica with failover_priority 0 does not race",
            peersBehind.WithTags(Tags.FailoverPriority(0)), StaysReplica);
        yield return Row("Equal WAL position and a peer with higher failover_priority lets the peer win",
            replica.WithPeers(Peer(Node2, lsn: LeaderOptime, tags: Tags.FailoverPriority(2)), Peer(Node3)), StaysReplica);
        yield return Row("Equal WAL position and equal failover_priority races",
            replica.WithPeers(Peer(Node2, lsn: LeaderOptime), Peer(Node3, lsn: LeaderOptime)), Wins);
        yield return Row("Higher failover_priority of a peer behind me does not stop the race",
            replica.WithPeers(Peer(Node2, tags: Tags.FailoverPriority(5)), Peer(Node3)), Wins);
        yield return Row("Unreachable peers are ignored in the race",
            replica.WithPeers(Unreachable(Node2), Peer(Node3)), Wins);
        yield return Row("All peers unreachable still races",
            replica.WithPeers(Unreachable(Node2), Unreachable(Node3)), Wins);
        yield return Row("Peer ahead with the nofailover tag is ignored",
            replica.WithPeers(Peer(Node2, lsn: LeaderOptime + 8192, tags: Tags.NoFailover), Peer(Node3)), Wins);
        yield return Row("Peer ahead with a failed watchdog is ignored",
            replica.WithPeers(Peer(Node2, lsn: LeaderOptime + 8192, watchdogFailed: true), Peer(Node3)), Wins);
        yield return Row("Peer still running as primary stops the race",
            replica.WithPeers(Peer(Node2, lsn: 0, role: MemberRole.Primary), Peer(Node3)), StaysReplica);
        yield return Row("check_timeline keeps a replica on an older timeline out of the race",
            Node(Pg.RunningReplica(null, timeline: ClusterTimeline - 1), unlocked).With(s => s with { CheckTimeline = true }).WithPeers(Peer(Node2), Peer(Node3)), StaysReplica);
        yield return Row("Without check_timeline a replica on an older timeline races",
            Node(Pg.RunningReplica(null, timeline: ClusterTimeline - 1), unlocked).WithPeers(Peer(Node2), Peer(Node3)), Wins);
        yield return Row("Only member races without asking peers",
            Node(Pg.RunningReplica(null), Unlocked(Member(Me))), Wins);
        yield return Row("Members seen under the last leader are still raced against",
            Node(Pg.RunningReplica(null), Unlocked(Member(Me))).WithMemory(m => m with { MembersWhenLastLocked = [Me, Node2] }), Situation.AsksForPeers);

        // A primary without the lock.
        yield return Row("Former leader still running as primary takes the lock back without promoting",
            Node(Pg.RunningPrimary(), unlocked), "acquire-lock{won:[] lost:[demote-immediatenolock]}");
        yield return Row("Stale primary on an older timeline than the cluster demotes",
            Node(Pg.RunningPrimary(timeline: ClusterTimeline - 1), unlocked), "demote-immediatenolock");
        yield return Row("Running primary in a DCS without initialize adopts the cluster",
            Node(Pg.RunningPrimary(), unlocked with { Initialize = null }), "acquire-lock{won:[write-initialize] lost:[]}");

        // Failover and switchover requests without a leader.
        yield return Row("Failover request naming me races even with a peer ahead and clears the request",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Me)).WithPeers(Peer(Node2, lsn: LeaderOptime + 8192), Peer(Node3)), WinsAndClearsFailover);
        yield return Row("Failover request naming a healthy other candidate lets it win",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Node2)).WithPeers(Peer(Node2), Peer(Node3)), StaysReplica);
        yield return Row("Failover request naming an unreachable candidate makes everyone race",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Node2)).WithPeers(Unreachable(Node2), Peer(Node3)), WinsAndClearsFailover);
        yield return Row("Failover request naming a candidate with nofailover makes everyone race",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Node2)).WithPeers(Peer(Node2, tags: Tags.NoFailover), Peer(Node3)), WinsAndClearsFailover);
        yield return Row("Failover request naming a candidate asks for peer status first",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Node2)), Situation.AsksForPeers);
        yield return Row("Old leader of a switchover does not race when another member can take over",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Me, null)).WithPeers(Peer(Node2), Peer(Node3)), StaysReplica);
        yield return Row("Old leader of a switchover races when nobody else can take over",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Me, null)).WithPeers(Unreachable(Node2), Peer(Node3, tags: Tags.NoFailover)), WinsAndClearsFailover);
        yield return Row("Old leader of a switchover races when the others lag beyond maximum_lag_on_failover",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Me, null)).WithPeers(Peer(Node2, lsn: FarBehind), Peer(Node3, lsn: FarBehind)), WinsAndClearsFailover);
        yield return Row("Switchover without candidate keeps the lag check once its leader is gone",
            Node(Pg.RunningReplica(null, lsn: FarBehind), unlocked.WithFailover(Node3, null)).WithPeers(Peer(Node2, lsn: FarBehind - 1)), StaysReplica);
        yield return Row("Switchover candidate lagging beyond maximum_lag_on_failover does not take over when the leader is gone",
            Node(Pg.RunningReplica(null, lsn: FarBehind), unlocked.WithFailover(Node3, Me)).WithPeers(Peer(Node2)), StaysReplica);
        yield return Row("Others race when the switchover candidate lags beyond maximum_lag_on_failover",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Node3, Node2)).WithPeers(Peer(Node2, lsn: FarBehind)), WinsAndClearsFailover);
        yield return Row("Switchover without candidate ignores the old leader even when it is ahead",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Node3, null)).WithPeers(Peer(Node2), Peer(Node3, lsn: LeaderOptime + 8192)), WinsAndClearsFailover);
        yield return Row("Switchover scheduled for later does not block the race after the leader is gone",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(Node3, Node2, Now.AddHours(1))).WithPeers(Peer(Node2), Peer(Node3)), WinsAndClearsFailover);
        yield return Row("Switchover scheduled for later keeps the lag check for the race",
            Node(Pg.RunningReplica(null, lsn: FarBehind), unlocked.WithFailover(Node3, Me, Now.AddHours(1))).WithPeers(Peer(Node2, lsn: 0)), StaysReplica);

        // Maintenance mode.
        yield return Row("Paused replica does not race and leaves PostgreSQL alone",
            peersBehind.Paused(), "none");
        yield return Row("Paused running primary takes the free lock and keeps running if it loses",
            Node(Pg.RunningPrimary(), unlocked).Paused(), "acquire-lock{won:[] lost:[]}");
        yield return Row("Paused running primary from another cluster does not take the lock",
            Node(Pg.RunningPrimary(systemId: ForeignSystemId), unlocked with { Initialize = new ClusterInitialize("", new DcsVersion("init-1")) }).Paused(), "none");
        yield return Row("Paused failover request naming me races and does not restart PostgreSQL if it loses",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Me)).Paused(), "acquire-lock{won:[clear-failover promote] lost:[]}");
        yield return Row("Paused failover request naming another candidate does not race",
            Node(Pg.RunningReplica(null), unlocked.WithFailover(null, Node2)).Paused(), "none");
    }
}
