using System.Collections.Immutable;
using System.Globalization;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// Records built from typed values only (no <c>RawJson</c>) serialize to exactly the bytes Patroni 3.0.2 wrote for the
/// same data, and the fixtures parse to those typed values.
/// </summary>
[TestFixture]
public sealed class WrittenFromScratchTests
{
    private const string Node1Conn = "postgres://127.0.0.1:25441/postgres";
    private const string Node1Api = "http://127.0.0.1:18101/patroni";
    private const string Node2Conn = "postgres://127.0.0.1:25442/postgres";
    private const string Node2Api = "http://127.0.0.1:18102/patroni";
    private const string Node3Conn = "postgres://127.0.0.1:25443/postgres";
    private const string Node3Api = "http://127.0.0.1:18103/patroni";

    private static Member Node(int n) => new($"node{n}")
    {
        ConnUrl = n switch { 1 => Node1Conn, 2 => Node2Conn, _ => Node3Conn },
        ApiUrl = n switch { 1 => Node1Api, 2 => Node2Api, _ => Node3Api },
        AgentVersion = "3.0.2",
    };

    private static MemberTags Tags(params (string Name, string RawJson)[] tags) =>
        new([.. tags.Select(t => KeyValuePair.Create(t.Name, t.RawJson))]);

    /// <summary>Where a fixture value comes from: <c>state/file</c> or <c>rev N</c> of the event log.</summary>
    private static string Fixture(string source) =>
        source.StartsWith("rev ", StringComparison.Ordinal)
            ? PatroniFixtures.Event(long.Parse(source[4..], CultureInfo.InvariantCulture)).Value!
            : PatroniFixtures.Text(source[..source.IndexOf('/', StringComparison.Ordinal)], source[(source.IndexOf('/', StringComparison.Ordinal) + 1)..]);

    /// <summary>Typed members and the fixture Patroni wrote for them.</summary>
    public static IEnumerable<TestCaseData> Members()
    {
        TestCaseData Row(string source, string what, Member member) => new TestCaseData(source, member).SetArgDisplayNames(source, what);

        yield return Row("bootstrapped/members__node1", "running master", Node(1) with { State = "running", Role = MemberRole.Primary, XlogLocation = 67108864, Timeline = 1 });
        yield return Row("bootstrapped/members__node2", "running replica", Node(2) with { State = "running", Role = MemberRole.Replica, XlogLocation = 67108864, Timeline = 1 });
        yield return Row("rev 2", "stopped uninitialized, no xlog", Node(1) with { State = "stopped", Role = MemberRole.Uninitialized });
        yield return Row("rev 5", "master before its first xlog", Node(1) with { State = "running", Role = MemberRole.Primary });
        yield return Row("rev 31", "demoted while stopping", Node(1) with { State = "stopping", Role = MemberRole.Demoted });
        yield return Row("rev 34", "checkpoint_after_promote before xlog", Node(2) with
        {
            State = "running", Role = MemberRole.Replica, CheckpointAfterPromote = false, XlogLocation = 67109256, Timeline = 1,
        });
        yield return Row("rev 35", "promoted on timeline 2", Node(2) with
        {
            State = "running", Role = MemberRole.Promoted, CheckpointAfterPromote = false, XlogLocation = 67109480, Timeline = 2,
        });
        yield return Row("after-switchover/members__node2", "new master", Node(2) with { State = "running", Role = MemberRole.Primary, XlogLocation = 67109536, Timeline = 2 });
        yield return Row("paused/members__node2", "pause last", Node(2) with { State = "running", Role = MemberRole.Primary, XlogLocation = 67109632, Timeline = 2, Pause = true });
        yield return Row("tags/members__node1", "tags between version and xlog", Node(1) with
        {
            State = "running", Role = MemberRole.Replica, Tags = Tags(("clonefrom", "true"), ("custom_tag", "\"x\"")), XlogLocation = 67109632, Timeline = 2,
        });
        yield return Row("tags/members__node3", "nofailover", Node(3) with
        {
            State = "running", Role = MemberRole.Replica, Tags = Tags(("nofailover", "true")), XlogLocation = 67109632, Timeline = 2,
        });
        yield return Row("rev 66", "nosync added at shutdown", Node(3) with
        {
            State = "running", Role = MemberRole.Replica, Tags = Tags(("nofailover", "true"), ("nosync", "true")), XlogLocation = 67109632, Timeline = 2,
        });
        yield return Row("rev 79", "stopped keeps its last role", Node(2) with { State = "stopped", Role = MemberRole.Primary });
    }

    [TestCaseSource(nameof(Members))]
    public void MemberFromTypedValuesEqualsPatroni(string source, Member member)
    {
        Assert.That(member.RawJson, Is.Null);
        Assert.That(MemberCodec.Serialize(member), Is.EqualTo(Fixture(source)));
    }

    [TestCaseSource(nameof(Members))]
    public void PatroniMemberParsesToTheTypedValues(string source, Member member)
    {
        var problems = new List<DcsDataProblem>();
        var parsed = MemberCodec.Parse(member.Name, Fixture(source), default, null, problems);
        Assert.That(problems, Is.Empty);
        Assert.That(parsed with { RawJson = null }, Is.EqualTo(member));
    }

    [Test]
    public void MasterReadsAsPrimaryAndIsWrittenBackAsMaster()
    {
        var cluster = PatroniFixtures.Read("bootstrapped");
        var node1 = cluster.GetMember("node1")!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Fixture("bootstrapped/members__node1"), Does.Contain("\"role\":\"master\""));
            Assert.That(node1.Role, Is.EqualTo(MemberRole.Primary));
            Assert.That(MemberCodec.Serialize(node1 with { RawJson = null }), Does.Contain("\"role\":\"master\""), "3.0.2 peers expect master");
            Assert.That(MemberCodec.Serialize(node1 with { RawJson = null }, legacyMasterRole: false), Does.Contain("\"role\":\"primary\""));
            Assert.That(cluster.GetMember("node2")!.Role, Is.EqualTo(MemberRole.Replica));
            Assert.That(cluster.LeaderMember, Is.SameAs(node1));
        }
    }

    [Test]
    public void TagsReadWithPatronisMeaning()
    {
        var cluster = PatroniFixtures.Read("tags");
        var node1 = cluster.GetMember("node1")!;
        var node2 = cluster.GetMember("node2")!;
        var node3 = cluster.GetMember("node3")!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(node1.Tags.Entries.Select(e => e.Key), Is.EqualTo(new[] { "clonefrom", "custom_tag" }), "nofailover: false is not written");
            Assert.That(node1.Tags.CloneFrom, Is.True);
            Assert.That(node1.Tags["custom_tag"], Is.EqualTo("\"x\""), "custom tags keep their JSON text");
            Assert.That(node1.Tags.NoFailover, Is.False);
            Assert.That(node3.Tags.NoFailover, Is.True);
            Assert.That(node3.Tags.CloneFrom, Is.False);
            Assert.That(node2.Tags, Is.EqualTo(MemberTags.Empty), "no tags key");
            Assert.That(node2.Tags.NoFailover, Is.False);
        }
    }

    [TestCaseSource(typeof(PatroniFixtureTests), nameof(PatroniFixtureTests.States))]
    public void LeaderAndInitializeArePlainText(string state)
    {
        var cluster = PatroniFixtures.Read(state);
        var leaderMeta = PatroniFixtures.Meta(state).Single(m => m.Key == ClusterKeys.Leader);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Leader!.Holder, Is.EqualTo(state is "bootstrapped" or "scheduled-switchover" or "switchover-flushed" ? "node1" : "node2"));
            Assert.That(cluster.Leader.Session, Is.EqualTo(leaderMeta.Session));
            Assert.That(cluster.Leader.Session, Is.EqualTo(cluster.LeaderMember!.Session), "the leader key carries the leader's own lease");
            Assert.That(cluster.LeaderMember.Role, Is.EqualTo(MemberRole.Primary));
            Assert.That(cluster.Initialize!.SystemId, Is.EqualTo("7712269356054531944"));
            Assert.That(cluster.Initialize.IsValidSystemId, Is.True);
            Assert.That(cluster.Members.Select(m => m.Session).Distinct().Count(), Is.EqualTo(3), "one lease per node");
            Assert.That(cluster.Members.Select(m => m.Session), Has.All.Matches<string>(s => long.Parse(s, CultureInfo.InvariantCulture) > 4_000_000_000_000_000_000L),
                "lease ids are large int64 values, kept exactly");
        }
    }

    [Test]
    public void InitializeIsEmptyWhileBootstrapIsInProgress()
    {
        var cluster = ClusterStateReader.Read([PatroniFixtures.EntryOf(PatroniFixtures.Event(3))]);
        Assert.That(cluster.Problems, Is.Empty);
        Assert.That(cluster.Initialize!.IsBootstrapInProgress, Is.True);
    }

    [Test]
    public void ScheduledSwitchover()
    {
        var at = new DateTimeOffset(2026, 11, 26, 1, 24, 13, TimeSpan.Zero);
        var text = Fixture("scheduled-switchover/failover");
        var parsed = PatroniFixtures.Read("scheduled-switchover").Failover!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.Leader, Is.EqualTo("node1"));
            Assert.That(parsed.Candidate, Is.EqualTo("node2"), "the candidate is stored as 'member'");
            Assert.That(parsed.ScheduledAt, Is.EqualTo(at));
            Assert.That(parsed.ScheduledAt!.Value.Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(parsed.IsSwitchover, Is.True);
            Assert.That(FailoverCodec.Serialize(new FailoverRequest("node1", "node2", at, default)), Is.EqualTo(text));
        }
    }

    [Test]
    public void ImmediateSwitchoverHasNoScheduledAt()
    {
        var text = Fixture("rev 22");
        var parsed = FailoverCodec.Parse(text, default, []);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.ScheduledAt, Is.Null);
            Assert.That((parsed.Leader, parsed.Candidate), Is.EqualTo(("node1", "node2")));
            Assert.That(FailoverCodec.Serialize(new FailoverRequest("node1", "node2", null, default)), Is.EqualTo(text));
        }
    }

    [TestCase("switchover-flushed/failover")]
    [TestCase("after-switchover/failover")]
    [TestCase("tags/failover")]
    public void ClearedFailoverIsAnEmptyObject(string source)
    {
        var text = Fixture(source);
        Assert.That(text, Is.EqualTo("{}"));
        var parsed = FailoverCodec.Parse(text, default, []);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.IsEmpty, Is.True);
            Assert.That(FailoverCodec.Serialize(FailoverRequest.Cleared), Is.EqualTo(text));
        }
    }

    [Test]
    public void ScheduledTimesAreWrittenAsPythonIsoformat()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(FailoverCodec.FormatIso(new DateTimeOffset(2026, 11, 26, 1, 24, 13, TimeSpan.Zero)), Is.EqualTo("2026-11-26T01:24:13+00:00"), "no fraction");
            Assert.That(FailoverCodec.FormatIso(new DateTimeOffset(2026, 11, 26, 0, 24, 19, TimeSpan.Zero).AddTicks(4_927_490)), Is.EqualTo("2026-11-26T00:24:19.492749+00:00"), "microseconds");
            Assert.That(FailoverCodec.FormatIso(new DateTimeOffset(2026, 11, 26, 0, 24, 19, TimeSpan.Zero).AddTicks(10)), Is.EqualTo("2026-11-26T00:24:19.000001+00:00"), "one microsecond");
            Assert.That(FailoverCodec.FormatIso(new DateTimeOffset(2026, 11, 26, 0, 24, 19, TimeSpan.Zero).AddTicks(7)), Is.EqualTo("2026-11-26T00:24:19+00:00"), "below a microsecond Python has nothing");
            Assert.That(FailoverCodec.FormatIso(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(-330))), Is.EqualTo("2026-01-02T03:04:05-05:30"), "negative offset");
        }
    }

    [Test]
    public void HistoryEntry()
    {
        var text = Fixture("after-switchover/history");
        var history = PatroniFixtures.Read("after-switchover").History!;
        var entry = history.Entries.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Timeline, Is.EqualTo(1));
            Assert.That(entry.SwitchLsn, Is.EqualTo(67109256));
            Assert.That(entry.Reason, Is.EqualTo("no recovery target specified"));
            Assert.That(entry.Timestamp, Is.EqualTo("2026-11-26T00:24:19.492749+00:00"));
            Assert.That(entry.NewLeader, Is.EqualTo("node2"));
            Assert.That(history.CurrentTimeline, Is.EqualTo(2));
            Assert.That(history.SwitchPointOf(1), Is.EqualTo(67109256));
            var stamp = FailoverCodec.FormatIso(new DateTimeOffset(2026, 11, 26, 0, 24, 19, TimeSpan.Zero).AddTicks(4_927_490));
            var fromScratch = new TimelineHistory([new TimelineHistoryEntry(1, 67109256, "no recovery target specified", stamp, "node2")], default);
            Assert.That(HistoryCodec.Serialize(fromScratch), Is.EqualTo(text));
        }
    }

    [Test]
    public void HistoryIsAbsentOnTimelineOne()
    {
        var cluster = PatroniFixtures.Read("bootstrapped");
        Assert.That(cluster.History, Is.Null);
        Assert.That(HistoryCodec.Serialize(new TimelineHistory([], default)), Is.EqualTo("[]"), "what REST /history shows then");
    }

    [TestCase("sync-mode/sync", "node2", "node3")]
    [TestCase("rev 70", "node2", "node1")]
    [TestCase("rev 68", "node2", null)]
    public void SyncState(string source, string leader, string? standby)
    {
        var text = Fixture(source);
        var parsed = SyncCodec.Parse(text, default, []);
        ImmutableArray<string> standbys = standby is null ? [] : [standby];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.Leader, Is.EqualTo(leader));
            Assert.That(parsed.SyncStandbys, Is.EqualTo(standbys));
            Assert.That(parsed.Quorum, Is.Null);
            Assert.That(SyncCodec.Serialize(new SyncState(leader, standbys, null, default)), Is.EqualTo(text));
        }
    }

    [Test]
    public void SyncStandbysAreSortedAndCommaJoined() =>
        Assert.That(SyncCodec.Serialize(new SyncState("node2", ["node3", "node1"], null, default)), Is.EqualTo("{\"leader\":\"node2\",\"sync_standby\":\"node1,node3\"}"));

    [TestCaseSource(typeof(PatroniFixtureTests), nameof(PatroniFixtureTests.States))]
    public void StatusIsTheLeadersOptime(string state)
    {
        var cluster = PatroniFixtures.Read(state);
        var status = cluster.Status!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status.Optime, Is.EqualTo(cluster.LeaderMember!.XlogLocation), "status.optime = the leader's xlog_location");
            Assert.That(status.Slots, Is.Empty, "no permanent slots: no slots key");
            Assert.That(StatusCodec.Serialize(ClusterStatus.FromOptime(status.Optime!.Value)), Is.EqualTo(PatroniFixtures.Text(state, "status")));
        }
    }

    [Test]
    public void FailsafeMapsEveryMemberToItsApiUrl()
    {
        var text = Fixture("failsafe/failsafe");
        var parsed = PatroniFixtures.Read("failsafe").Failsafe!;
        // Built in reverse order: the writer sorts by name as Patroni's member list is.
        var fromScratch = new FailsafeMembers(ImmutableDictionary.CreateRange(StringComparer.Ordinal,
            [KeyValuePair.Create("node3", Node3Api), KeyValuePair.Create("node2", Node2Api), KeyValuePair.Create("node1", Node1Api)]), default);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.Members, Is.EquivalentTo(fromScratch.Members));
            Assert.That(FailsafeCodec.Serialize(fromScratch), Is.EqualTo(text));
        }
    }

    /// <summary>Every member, failover, sync, history, status and failsafe value Patroni wrote (snapshots and log).</summary>
    public static IEnumerable<TestCaseData> CodecValues()
    {
        var seen = new HashSet<(string, string)>();
        foreach (var e in PatroniFixtures.Events.Where(e => e.IsPut))
        {
            if (e.Key is ClusterKeys.Leader or ClusterKeys.Initialize or ClusterKeys.Config || !seen.Add((e.Key, e.Value!))) continue;
            yield return new TestCaseData(e.Key, e.Value).SetArgDisplayNames($"rev {e.Revision:00} {e.Key}");
        }
        foreach (var state in PatroniFixtures.States)
            foreach (var meta in PatroniFixtures.Meta(state))
                if (meta.Key is not (ClusterKeys.Leader or ClusterKeys.Initialize or ClusterKeys.Config) && seen.Add((meta.Key, PatroniFixtures.Text(state, meta.File))))
                    yield return new TestCaseData(meta.Key, PatroniFixtures.Text(state, meta.File)).SetArgDisplayNames($"{state}/{meta.File}");
    }

    /// <summary>Parsed, stripped of <c>RawJson</c>, written: every value comes out as Patroni wrote it.</summary>
    [TestCaseSource(nameof(CodecValues))]
    public void EveryPatroniValueIsReproducedFromItsTypedContent(string key, string value)
    {
        var problems = new List<DcsDataProblem>();
        var written = key switch
        {
            ClusterKeys.Status => StatusCodec.Serialize(StatusCodec.Parse(value, default, problems) with { RawJson = null }),
            ClusterKeys.Failover => FailoverCodec.Serialize(FailoverCodec.Parse(value, default, problems) with { RawJson = null }),
            ClusterKeys.Sync => SyncCodec.Serialize(SyncCodec.Parse(value, default, problems) with { RawJson = null }),
            ClusterKeys.History => HistoryCodec.Serialize(HistoryCodec.Parse(value, default, problems) with { RawJson = null }),
            ClusterKeys.Failsafe => FailsafeCodec.Serialize(FailsafeCodec.Parse(value, default, problems) with { RawJson = null }),
            _ => MemberCodec.Serialize(MemberCodec.Parse(key[ClusterKeys.MembersPrefix.Length..], value, default, null, problems) with { RawJson = null }),
        };
        Assert.That(problems, Is.Empty);
        Assert.That(written, Is.EqualTo(value));
    }
}
