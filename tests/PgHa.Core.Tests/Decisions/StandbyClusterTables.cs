using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// A standby cluster (patroni-compat.md §5.13): the lock holder is a standby leader following the remote primary,
/// never promoted; the others follow it; removing the section promotes it.
/// </summary>
[TestFixture]
public sealed class StandbyClusterTables
{
    /// <summary>The remote primary of <c>standby_cluster</c>.</summary>
    internal static StandbyClusterConfig Remote { get; } = new() { Host = "10.9.9.9", Port = 5433, PrimarySlotName = "standby_b" };

    private const string Renews = "renew-lock{ok:[] fail:[]}";
    private const string RenewsAndFollowsRemote = "renew-lock{ok:[follow-remote-primary] fail:[]}";

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var mine = LedBy(Me, Member(Me, MemberRole.StandbyLeader), Member(Node2), Member(Node3));
        var ledByNode2 = LedBy(Node2, Member(Me), Member(Node2, MemberRole.StandbyLeader), Member(Node3));
        var unlocked = Unlocked(Member(Me), Member(Node2), Member(Node3));

        yield return Row("Standby: a node with an empty data directory races to bootstrap a standby leader from the remote",
            Standby(Node(Pg.EmptyDataDir, NeverBootstrapped)), "race-initialize{won:[bootstrap-standby-leader]}");
        yield return Row("Standby: a node with an empty data directory clones from the running standby leader",
            Standby(Node(Pg.EmptyDataDir, ledByNode2)), "create-replica(node2)");
        yield return Row("Standby: the standby leader following the remote renews the lock",
            Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName), mine)), Renews);
        yield return Row("Standby: a lock holder in recovery follows the remote instead of promoting",
            Standby(Node(Pg.RunningReplica(following: null), mine)), RenewsAndFollowsRemote);
        yield return Row("Standby: a lock holder following the remote with older settings follows it again",
            Standby(Node(Pg.RunningReplica(following: (Remote with { Port = 5432 }).UpstreamName), mine)), RenewsAndFollowsRemote);
        yield return Row("Standby: a lock holder far behind the last optime still stays standby leader, never releasing",
            Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName, lsn: FarBehind), mine)), Renews);
        yield return Row("Standby: a primary holding the lock demotes, keeping the lock",
            Standby(Node(Pg.RunningPrimary(), mine)), "demote-immediatenolock");
        yield return Row("Standby: a paused primary holding the lock keeps running",
            Standby(Node(Pg.RunningPrimary(), mine).Paused()), "none");
        yield return Row("Standby: a paused standby leader keeps the lock",
            Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName), mine).Paused()), Renews);
        yield return Row("Standby: a switchover request is cancelled by the standby leader",
            Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName), mine.WithFailover(Me, Node2)).WithPeers(Peer(Node2), Peer(Node3))), "renew-lock{ok:[clear-failover] fail:[]}");
        yield return Row("Standby: a stopped lock holder starts as the standby leader",
            Standby(Node(Pg.StoppedReplica, mine)), RenewsAndFollowsRemote);
        yield return Row("Standby: a stopped former primary holding the lock starts as the standby leader, not as a primary",
            Standby(Node(Pg.StoppedPrimary, mine)), RenewsAndFollowsRemote);
        yield return Row("Standby: a stopped node of an unlocked standby cluster follows the remote directly",
            Standby(Node(Pg.StoppedReplica, unlocked)), "follow-remote-primary");
        yield return Row("Standby: a stopped node follows the standby leader",
            Standby(Node(Pg.StoppedReplica, ledByNode2)), "follow(node2)");
        yield return Row("Standby: the healthiest replica of an unlocked standby cluster becomes standby leader without promoting",
            Standby(Node(Pg.RunningReplica(following: null), unlocked).WithPeers(Peer(Node2), Peer(Node3))), "acquire-lock{won:[follow-remote-primary] lost:[]}");
        yield return Row("Standby: a replica asks for peer status before racing",
            Standby(Node(Pg.RunningReplica(following: null), unlocked)), Situation.AsksForPeers);
        yield return Row("Standby: a running primary of an unlocked standby cluster demotes",
            Standby(Node(Pg.RunningPrimary(), unlocked)), "demote-immediatenolock");
        yield return Row("Standby: a replica following the standby leader does nothing",
            Standby(Node(Pg.RunningReplica(following: Node2), ledByNode2)), "none");
        yield return Row("Standby: a replica following the remote re-points at the standby leader",
            Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName), ledByNode2)), "follow(node2)");
        yield return Row("Standby: a running primary while a standby leader holds the lock demotes",
            Standby(Node(Pg.RunningPrimary(), ledByNode2)), "demote-immediatenolock");
        yield return Row("Standby section removed: the standby leader promotes",
            Node(Pg.RunningReplica(following: Remote.UpstreamName), mine), "renew-lock{ok:[promote] fail:[]}");
    }

    /// <summary>The situation with <see cref="Remote"/> as the active <c>standby_cluster</c>.</summary>
    internal static Situation Standby(Situation situation) => situation.With(s => s with { StandbyCluster = Remote });

    [Test]
    public void Standby_leader_reason_says_so()
    {
        var plan = Standby(Node(Pg.RunningReplica(following: Remote.UpstreamName), LedBy(Me, Member(Me, MemberRole.StandbyLeader)))).Decide();

        Assert.That(plan.Reason, Is.EqualTo("no action. I am (node1), the standby leader with the lock"));
    }

    [Test]
    public void Synchronous_mode_is_ignored_in_a_standby_cluster()
    {
        var config = new GlobalConfig
        {
            SynchronousMode = true,
            SynchronousModeStrict = true,
            StandbyCluster = Remote,
        };

        var settings = HaSettings.From(config, Me, MemberTags.Empty);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(settings.StandbyCluster, Is.EqualTo(Remote));
            Assert.That(settings.SynchronousMode, Is.False);
            Assert.That(settings.SynchronousModeStrict, Is.False);
        }
    }

    [Test]
    public void A_section_without_host_port_or_restore_command_is_not_a_standby_cluster()
    {
        var settings = HaSettings.From(new GlobalConfig { StandbyCluster = new StandbyClusterConfig { PrimarySlotName = "x" } }, Me, MemberTags.Empty);

        Assert.That(settings.StandbyCluster, Is.Null);
    }

    [Test]
    public void The_upstream_name_changes_with_every_recovery_setting()
    {
        var names = new[]
        {
            Remote, Remote with { Host = "10.9.9.8" }, Remote with { Port = 5434 }, Remote with { PrimarySlotName = null },
            Remote with { RestoreCommand = "cp /a/%f %p" }, Remote with { ArchiveCleanupCommand = "x" }, Remote with { RecoveryMinApplyDelay = "5min" },
        }.Select(r => r.UpstreamName).ToList();

        Assert.That(names.Distinct().Count(), Is.EqualTo(names.Count));
        Assert.That(Remote.UpstreamName, Is.EqualTo(new StandbyClusterConfig { Host = "10.9.9.9", Port = 5433, PrimarySlotName = "standby_b" }.UpstreamName), "stable across instances");
    }
}
