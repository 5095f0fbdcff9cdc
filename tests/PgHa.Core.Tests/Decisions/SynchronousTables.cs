using System.Collections.Immutable;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using static PgHa.Core.Tests.Decisions.DecisionTable;
using static PgHa.Core.Tests.Decisions.Given;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Synchronous mode (patroni-compat.md §5.8): the leader's sync key and synchronous_standby_names, and who may promote.</summary>
[TestFixture]
public sealed class SynchronousTables
{
    private static ClusterState Mine => LedBy(Me, Members(primary: Me));

    [TestCaseSource(nameof(Cases))]
    public void Decides(Situation situation, string expected) =>
        Assert.That(situation.Render(), Is.EqualTo(expected));

    private static SyncState Sync(string leader, params string[] standbys) => new(leader, [.. standbys], null, new DcsVersion("sync-5"));

    private static ReplicationConnection Streaming(string name, string syncState = "async", long lsn = LeaderOptime) => new(name, "streaming", syncState, lsn);

    /// <summary>This node as the leader with synchronous mode on, PostgreSQL running with <paramref name="names"/> and these standbys.</summary>
    private static Situation Leader(SyncState? sync, string names, params ReplicationConnection[] standbys) =>
        Node(Pg.RunningPrimary() with { SynchronousStandbyNames = names, ManagedSynchronousStandbyNames = names, Replication = [.. standbys] },
                Mine with { Sync = sync })
            .With(s => s with { SynchronousMode = true });

    private static Situation Baseline(Situation s, string value, long lsn) => s.WithMemory(m => m with { SyncBaseline = new SynchronousStandbyBaseline(value, lsn) });

    internal static IEnumerable<TestCaseData> Cases()
    {
        // ---- the leader ----
        yield return Row("Sync leader claims the sync key with no standbys when synchronous mode is switched on",
            Leader(null, ""), "renew-lock{ok:[write-sync(-)] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader names a streaming standby in synchronous_standby_names before the sync key",
            Leader(Sync(Me), "", Streaming(Node2)), "renew-lock{ok:[set-sync-names('node2')] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader does not yet list a named standby that has not caught up with the baseline",
            Baseline(Leader(Sync(Me), "node2", Streaming(Node2, "sync", LeaderOptime - 10)), "node2", LeaderOptime), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader lists a named standby in the sync key once PostgreSQL counts it sync past the baseline",
            Baseline(Leader(Sync(Me), "node2", Streaming(Node2, "sync")), "node2", LeaderOptime), "renew-lock{ok:[write-sync(node2)] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader without a baseline (agent restarted) sets the names again to take one",
            Leader(Sync(Me), "node2", Streaming(Node2, "sync")), "renew-lock{ok:[set-sync-names('node2')] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader keeps a confirmed synchronous standby",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync"), Streaming(Node3)), "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader removes a vanished standby from the sync key before dropping it from synchronous_standby_names",
            Leader(Sync(Me, Node2), "node2", Streaming(Node3)), "renew-lock{ok:[write-sync(-){ok:[set-sync-names('node3')]}] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader goes asynchronous when no standby is left (not strict)",
            Leader(Sync(Me, Node2), "node2"), "renew-lock{ok:[write-sync(-){ok:[set-sync-names('')]}] fail:[demote-immediatenolock]}");
        yield return Row("Strict sync leader blocks commits with '*' when no standby is left",
            Leader(Sync(Me, Node2), "node2").With(s => s with { SynchronousModeStrict = true }), "renew-lock{ok:[write-sync(-){ok:[set-sync-names('*')]}] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader never picks a standby tagged nosync",
            Leader(Sync(Me), "", Streaming(Node2)) with { Cluster = Mine.WithMember(Node2, m => m with { Tags = Tags.Of(("nosync", "true")) }) with { Sync = Sync(Me) } },
            "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader prefers the standby PostgreSQL already counts synchronous",
            Leader(Sync(Me), "", Streaming(Node2, "async", LeaderOptime), Streaming(Node3, "sync", LeaderOptime - 100)),
            "renew-lock{ok:[set-sync-names('node3')] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader with synchronous_node_count 2 names both standbys",
            Leader(Sync(Me), "", Streaming(Node2), Streaming(Node3)).With(s => s with { SynchronousNodeCount = 2 }),
            "renew-lock{ok:[set-sync-names('2 (node2,node3)')] fail:[demote-immediatenolock]}");
        yield return Row("Sync leader releases a synchronous standby that tagged itself nosync to go away, and names the other one",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync"), Streaming(Node3)) with
            {
                Cluster = Mine.WithMember(Node2, m => m with { Tags = SynchronousReplication.LeavingTags(MemberTags.Empty) }) with { Sync = Sync(Me, Node2) },
            },
            "renew-lock{ok:[write-sync(-){ok:[set-sync-names('node3')]}] fail:[demote-immediatenolock]}");
        // maximum_lag_on_syncnode: measured from the most advanced standby, or from the primary when there is one standby.
        const long SyncLag = 1024 * 1024;
        yield return Row("maximum_lag_on_syncnode drops a standby lagging behind the most advanced one and picks the healthy one",
            Leader(Sync(Me), "", Streaming(Node2, "sync", LeaderOptime - 3 * SyncLag), Streaming(Node3, "async", LeaderOptime)).With(s => s with { MaximumLagOnSyncnode = SyncLag }),
            "renew-lock{ok:[set-sync-names('node3')] fail:[demote-immediatenolock]}");
        yield return Row("maximum_lag_on_syncnode swaps a lagging confirmed synchronous standby: it leaves the sync key first",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync", LeaderOptime - 3 * SyncLag), Streaming(Node3, "async", LeaderOptime)).With(s => s with { MaximumLagOnSyncnode = SyncLag }),
            "renew-lock{ok:[write-sync(-){ok:[set-sync-names('node3')]}] fail:[demote-immediatenolock]}");
        yield return Row("maximum_lag_on_syncnode off (-1) keeps the lagging synchronous standby",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync", LeaderOptime - 3 * SyncLag), Streaming(Node3, "async", LeaderOptime)),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("maximum_lag_on_syncnode within the limit keeps the synchronous standby",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync", LeaderOptime - SyncLag / 2), Streaming(Node3, "async", LeaderOptime)).With(s => s with { MaximumLagOnSyncnode = SyncLag }),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("maximum_lag_on_syncnode with a single standby measures from the primary's position",
            Leader(Sync(Me), "", Streaming(Node2, "async", LeaderOptime - 3 * SyncLag)).With(s => s with { MaximumLagOnSyncnode = SyncLag }),
            "renew-lock{ok:[] fail:[demote-immediatenolock]}");
        yield return Row("maximum_lag_on_syncnode: a strict leader with only a lagging standby blocks with '*'",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync", LeaderOptime - 3 * SyncLag)).With(s => s with { MaximumLagOnSyncnode = SyncLag, SynchronousModeStrict = true }),
            "renew-lock{ok:[write-sync(-){ok:[set-sync-names('*')]}] fail:[demote-immediatenolock]}");
        yield return Row("Leader deletes the sync key and hands synchronous_standby_names back when synchronous mode is switched off",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync")).With(s => s with { SynchronousMode = false }),
            "renew-lock{ok:[delete-sync{ok:[set-sync-names('<parameters>')]}] fail:[demote-immediatenolock]}");

        // ---- promotion ----
        var unlocked = Unlocked(Members(primary: null)) with { Sync = Sync(Node3, Me) };
        yield return Row("Sync standby wins the race and claims the sync key before promoting",
            Node(Pg.RunningReplica(Node3), unlocked).With(s => s with { SynchronousMode = true }).WithPeers(Peer(Node2)),
            "acquire-lock{won:[write-sync(-){ok:[set-sync-names('') promote]}] lost:[]}");
        yield return Row("Strict sync standby promotes with '*' so nothing commits without a standby",
            Node(Pg.RunningReplica(Node3), unlocked).With(s => s with { SynchronousMode = true, SynchronousModeStrict = true }).WithPeers(Peer(Node2)),
            "acquire-lock{won:[write-sync(-){ok:[set-sync-names('*') promote]}] lost:[]}");
        yield return Row("Asynchronous standby does not race in synchronous mode, even when it is the most advanced",
            Node(Pg.RunningReplica(Node3), Unlocked(Members(primary: null)) with { Sync = Sync(Node3, Node2) }).With(s => s with { SynchronousMode = true }),
            "none");
        yield return Row("Sync standby takes over although the former leader reports a higher position",
            Node(Pg.RunningReplica(Node3), unlocked).With(s => s with { SynchronousMode = true }).WithPeers(Peer(Node3, lsn: LeaderOptime + 100)),
            "acquire-lock{won:[write-sync(-){ok:[set-sync-names('') promote]}] lost:[]}");
        yield return Row("Without synchronous mode a stale sync key restricts nobody",
            Node(Pg.RunningReplica(Node3), Unlocked(Members(primary: null)) with { Sync = Sync(Node3, Node2) }).WithPeers(Peer(Node2, lsn: SlightlyBehind - 1)),
            "acquire-lock{won:[promote] lost:[]}");
        yield return Row("Lock holder in recovery that is not a synchronous standby releases the lock instead of promoting",
            Node(Pg.RunningReplica(null), Mine with { Sync = Sync(Node3, Node2) }).With(s => s with { SynchronousMode = true }),
            "release-lock");
        yield return Row("Switchover to an asynchronous standby is refused in synchronous mode",
            Leader(Sync(Me, Node2), "node2", Streaming(Node2, "sync"), Streaming(Node3)) is var l
                ? (l with { Cluster = l.Cluster!.WithFailover(Me, Node3) }).WithPeers(Peer(Node2), Peer(Node3)) : null!,
            "renew-lock{ok:[clear-failover] fail:[demote-immediatenolock]}");
    }

    [Test]
    public void Sync_key_write_is_a_compare_and_set_on_the_version_read()
    {
        var plan = Leader(Sync(Me, Node2), "node2", Streaming(Node3)).Decide();
        var write = ((RenewLock)plan.Actions.Single()).OnRenewed.OfType<WriteSyncState>().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.Version, Is.EqualTo(new DcsVersion("sync-5")));
            Assert.That(write.Leader, Is.EqualTo(Me));
            Assert.That(write.Standbys, Is.Empty);
        }
    }

    [TestCase("", new string[0])]
    [TestCase("node2", new[] { "node2" })]
    [TestCase("2 (node2,node3)", new[] { "node2", "node3" })]
    [TestCase("FIRST 1 (a, \"b c\")", new[] { "a", "b c" })]
    [TestCase("ANY 2(\"x\"\"y\",*)", new[] { "x\"y", "*" })]
    [TestCase("a,", new string[0])]
    public void Synchronous_standby_names_are_parsed(string value, string[] members) =>
        Assert.That(SynchronousStandbyNames.Members(value), Is.EqualTo(members));

    [Test]
    public void Synchronous_standby_names_are_rendered_the_way_Patroni_writes_them()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SynchronousStandbyNames.Render([]), Is.EqualTo(""));
            Assert.That(SynchronousStandbyNames.Render(["node2"]), Is.EqualTo("node2"));
            Assert.That(SynchronousStandbyNames.Render(["node3", "node-2"]), Is.EqualTo("2 (\"node-2\",node3)"));
        }
    }
}
