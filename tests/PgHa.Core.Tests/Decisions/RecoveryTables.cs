using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// PostgreSQL down, a background action running, the DCS out of reach, or a foreign data directory
/// (patroni-compat.md §5.2 steps 5, 10, 11; §5.6; §5.7).
/// </summary>
[TestFixture]
public sealed class RecoveryTables
{
    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    internal static IEnumerable<TestCaseData> Cases()
    {
        var mine = LedBy(Me, Members(primary: Me));
        var ledByNode2 = LedBy(Node2, Members(primary: Node2));
        var noPrimaryStartTimeout = (Func<HaSettings, HaSettings>)(s => s with { PrimaryStartTimeout = TimeSpan.Zero });
        var pastStartTimeout = TimeSpan.FromSeconds(301);

        // Crashed or stopped PostgreSQL (recover()).
        yield return Row("Crashed primary holding the lock restarts in place and follows nobody if the lock is lost",
            Node(Pg.StoppedPrimary, mine), "renew-lock{ok:[start-primary] fail:[follow(-)]}");
        yield return Row("Crashed primary with primary_start_timeout 0 releases the lock when a replica can take over",
            Node(Pg.StoppedPrimary, mine).With(noPrimaryStartTimeout), "release-lock");
        yield return Row("Crashed primary with primary_start_timeout 0 restarts in place when no replica is running",
            Node(Pg.StoppedPrimary, mine.WithMember(Node2, m => m with { State = "stopped" }).WithMember(Node3, m => m with { State = "stopped" })).With(noPrimaryStartTimeout),
            "renew-lock{ok:[start-primary] fail:[follow(-)]}");
        yield return Row("Crashed primary with primary_start_timeout 0 restarts in place when every replica lags",
            Node(Pg.StoppedPrimary, mine.WithMember(Node2, m => m with { XlogLocation = FarBehind }).WithMember(Node3, m => m with { XlogLocation = FarBehind })).With(noPrimaryStartTimeout),
            "renew-lock{ok:[start-primary] fail:[follow(-)]}");
        yield return Row("Crashed primary with primary_start_timeout 0 ignores replicas tagged nofailover",
            Node(Pg.StoppedPrimary, mine.WithMember(Node2, m => m with { Tags = Tags.NoFailover }).WithMember(Node3, m => m with { Tags = Tags.NoFailover })).With(noPrimaryStartTimeout),
            "renew-lock{ok:[start-primary] fail:[follow(-)]}");
        yield return Row("Crashed primary whose restart in place failed releases the lock",
            Node(Pg.StoppedPrimary, mine).WithMemory(m => m with { PrimaryStartFailed = true }), "release-lock");
        yield return Row("Stopped lock holder whose data directory is a replica releases the lock",
            Node(Pg.StoppedReplica, mine), "release-lock");
        yield return Row("Stopped replica starts following the leader",
            Node(Pg.StoppedReplica, ledByNode2), "follow(node2)");
        yield return Row("Stopped former primary starts following the new leader",
            Node(Pg.StoppedPrimary, ledByNode2), "follow(node2)");
        yield return Row("Stopped node without a leader starts without an upstream",
            Node(Pg.StoppedReplica, Unlocked(Members(primary: null))), "follow(-)");
        yield return Row("Paused stopped lock holder releases the lock",
            Node(Pg.StoppedPrimary, mine).Paused(), "release-lock");
        yield return Row("Paused stopped replica stays stopped",
            Node(Pg.StoppedReplica, ledByNode2).Paused(), "none");

        // DCS not accessible.
        yield return Row("DCS not accessible demotes a running primary offline",
            Node(Pg.RunningPrimary(), cluster: null), "demote-offline");
        yield return Row("DCS not accessible leaves a replica running",
            Node(Pg.RunningReplica(Node2), cluster: null), "none");
        yield return Row("DCS not accessible leaves a stopped node alone",
            Node(Pg.StoppedPrimary, cluster: null), "none");
        yield return Row("DCS not accessible while paused leaves the primary running",
            Node(Pg.RunningPrimary(), cluster: null).With(s => s with { Pause = true }), "none");
        yield return Row("DCS not accessible during a background action still demotes a running primary",
            Node(Pg.RunningPrimary(), cluster: null).Busy(BusyActionKind.Promote, TimeSpan.FromSeconds(2)), "demote-offline");
        // The write fence makes riding out a short DCS outage safe: keep serving while another retry still fits.
        yield return Row("DCS not accessible keeps a primary running while its lock is guaranteed beyond another retry",
            Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(20) }), "none");
        yield return Row("DCS not accessible demotes a primary whose lock guarantee ends within one retry",
            Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now + TimeSpan.FromSeconds(10.5) }), "demote-offline");
        yield return Row("DCS not accessible demotes a primary whose lock guarantee has already ended",
            Node(Pg.RunningPrimary(), cluster: null).WithMemory(m => m with { LockValidUntil = Now - TimeSpan.FromSeconds(1) }), "demote-offline");

        // A lock this node released (or tried to) is never served under again: a late release would delete it.
        var abandoned = (Func<HaMemory, HaMemory>)(m => m with { AbandonedLock = mine.Leader!.Version });
        yield return Row("Lock I released but still see is released again, not renewed",
            Node(Pg.StoppedPrimary, mine).WithMemory(abandoned), "release-lock");
        yield return Row("Lock I released but still see is not renewed while a background action runs",
            Node(Pg.StoppedPrimary, mine).WithMemory(abandoned).Busy(BusyActionKind.Demote, TimeSpan.FromSeconds(1)), "none");
        yield return Row("Running primary whose lock was released demotes at once",
            Node(Pg.RunningPrimary(), mine).WithMemory(abandoned), "demote-immediatenolock");
        yield return Row("A fresh lock of mine with a new version is mine again after an earlier release",
            Node(Pg.RunningPrimary(), mine).WithMemory(m => m with { AbandonedLock = new PgHa.Cluster.DcsVersion("older") }),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}");

        // A lock that arrives without a race just won (a reply lost, an agent restarted) still obeys the lag rule.
        yield return Row("Lock holder in recovery lagging beyond maximum_lag_on_failover releases instead of promoting",
            Node(Pg.RunningReplica(null, lsn: FarBehind), mine), "release-lock");
        yield return Row("Lock holder in recovery named in an explicit failover promotes despite the lag",
            Node(Pg.RunningReplica(null, lsn: FarBehind), mine with { Failover = new FailoverRequest(null, Me, null, new PgHa.Cluster.DcsVersion("9")) }),
            "renew-lock{ok:[promote] fail:[]}");

        // A background action is running.
        yield return Row("Promotion in progress keeps the lock and nothing else",
            Node(Pg.RunningReplica(null), mine).Busy(BusyActionKind.Promote, TimeSpan.FromSeconds(2)), "renew-lock{ok:[] fail:[]}");
        yield return Row("Background action on a running primary holding the lock demotes if the renewal fails",
            Node(Pg.RunningPrimary(), mine).Busy(BusyActionKind.Start, TimeSpan.FromSeconds(2)), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Paused background action on a running primary keeps it running if the renewal fails",
            Node(Pg.RunningPrimary(), mine).Busy(BusyActionKind.Start, TimeSpan.FromSeconds(2)).Paused(), "renew-lock{ok:[] fail:[]}");
        yield return Row("Crash recovery past primary_start_timeout demotes when a replica can take over",
            Node(Pg.StoppedPrimary, mine).Busy(BusyActionKind.Start, pastStartTimeout).WithMemory(m => m with { CrashRecoveryStartedAt = Now - pastStartTimeout }),
            "demote-immediate");
        yield return Row("Crash recovery past primary_start_timeout keeps waiting when no replica can take over",
            Node(Pg.StoppedPrimary, mine.WithMember(Node2, m => m with { State = "stopped" }).WithMember(Node3, m => m with { State = "stopped" }))
                .Busy(BusyActionKind.Start, pastStartTimeout).WithMemory(m => m with { CrashRecoveryStartedAt = Now - pastStartTimeout }),
            "renew-lock{ok:[] fail:[]}");
        yield return Row("Crash recovery within primary_start_timeout keeps the lock",
            Node(Pg.StoppedPrimary, mine).Busy(BusyActionKind.Start, TimeSpan.FromSeconds(299)).WithMemory(m => m with { CrashRecoveryStartedAt = Now - TimeSpan.FromSeconds(299) }),
            "renew-lock{ok:[] fail:[]}");
        yield return Row("Paused crash recovery past primary_start_timeout keeps the lock",
            Node(Pg.StoppedPrimary, mine).Busy(BusyActionKind.Start, pastStartTimeout).WithMemory(m => m with { CrashRecoveryStartedAt = Now - pastStartTimeout }).Paused(),
            "renew-lock{ok:[] fail:[]}");
        yield return Row("Lost the lock during a background action demotes a running primary",
            Node(Pg.RunningPrimary(), ledByNode2).Busy(BusyActionKind.Promote, TimeSpan.FromSeconds(2)), "demote-immediatenolock");
        yield return Row("Lock expired during a background action demotes a running primary",
            Node(Pg.RunningPrimary(), Unlocked(Members(primary: Me))).Busy(BusyActionKind.Start, TimeSpan.FromSeconds(2)), "demote-immediatenolock");
        yield return Row("Paused primary without the lock during a background action keeps running",
            Node(Pg.RunningPrimary(), ledByNode2).Busy(BusyActionKind.Start, TimeSpan.FromSeconds(2)).Paused(), "none");
        yield return Row("Bootstrap in progress without the lock is left alone",
            Node(Pg.RunningPrimary(), NeverBootstrapped).Busy(BusyActionKind.Bootstrap, TimeSpan.FromSeconds(2)), "none");
        yield return Row("Replica creation in progress does nothing else",
            Node(Pg.EmptyDataDir, ledByNode2).Busy(BusyActionKind.CreateReplica, TimeSpan.FromSeconds(30)), "none");

        // The data directory belongs to another cluster.
        yield return Row("System ID mismatch does nothing",
            Node(Pg.RunningReplica(Node2, systemId: ForeignSystemId), ledByNode2), "none");
        yield return Row("System ID mismatch on a running primary does not take the free lock",
            Node(Pg.RunningPrimary(systemId: ForeignSystemId), Unlocked(Members(primary: null))), "none");
        yield return Row("System ID mismatch while holding the lock releases it",
            Node(Pg.RunningPrimary(systemId: ForeignSystemId), mine), "release-lock");
    }

    [Test]
    public void Start_timeout_is_measured_from_the_crash_recovery_start()
    {
        // The background action started recently, but crash recovery began long ago: the timeout has passed.
        var situation = Node(Pg.StoppedPrimary, LedBy(Me, Members(primary: Me)))
            .Busy(BusyActionKind.Start, TimeSpan.FromSeconds(5))
            .WithMemory(m => m with { CrashRecoveryStartedAt = Now - TimeSpan.FromSeconds(400) });

        Assert.That(situation.Decide().Actions.Single(), Is.EqualTo(new Demote(DemoteMode.Immediate)));
    }

    [Test]
    public void System_id_mismatch_reason_names_both_system_ids()
    {
        var plan = Node(Pg.RunningReplica(Node2, systemId: ForeignSystemId), LedBy(Node2, Members(primary: Node2))).Decide();

        Assert.That(plan.Reason, Does.Contain(ForeignSystemId).And.Contain(SystemId));
    }
}
