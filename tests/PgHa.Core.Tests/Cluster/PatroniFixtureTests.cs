using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// Everything a real Patroni 3.0.2 cluster wrote into etcd reads without a problem and writes back byte for byte, and
/// every change Patroni made from one value to the next is the change PgHa's codecs make for the same typed change.
/// </summary>
[TestFixture]
public sealed class PatroniFixtureTests
{
    /// <summary>Every captured state.</summary>
    public static IEnumerable<TestCaseData> States() =>
        PatroniFixtures.States.Select(s => new TestCaseData(s).SetArgDisplayNames(s));

    /// <summary>Every key file of every captured state.</summary>
    public static IEnumerable<TestCaseData> SnapshotKeys() =>
        from state in PatroniFixtures.States
        from meta in PatroniFixtures.Meta(state)
        select new TestCaseData(state, meta.File).SetArgDisplayNames(state, meta.File);

    /// <summary>Every put of the event log.</summary>
    public static IEnumerable<TestCaseData> LoggedPuts() =>
        PatroniFixtures.Events.Where(e => e.IsPut).Select(e => new TestCaseData(e.Revision).SetArgDisplayNames($"rev {e.Revision:00} {e.Key}"));

    /// <summary>Every pair of consecutive puts of one key (no delete in between) that a codec writes.</summary>
    public static IEnumerable<TestCaseData> LoggedChanges()
    {
        var last = new Dictionary<string, PatroniFixtures.LogEvent>(StringComparer.Ordinal);
        foreach (var e in PatroniFixtures.Events)
        {
            if (!e.IsPut)
            {
                last.Remove(e.Key);
                continue;
            }
            if (last.TryGetValue(e.Key, out var previous) && e.Key is not (ClusterKeys.Leader or ClusterKeys.Initialize))
                yield return new TestCaseData(previous.Revision, e.Revision).SetArgDisplayNames($"{e.Key} rev {previous.Revision:00} to {e.Revision:00}");
            last[e.Key] = e;
        }
    }

    [TestCaseSource(nameof(States))]
    public void SnapshotFolderHoldsExactlyTheKeysOfItsMeta(string state)
    {
        var files = Directory.GetFiles(Path.Combine(PatroniFixtures.Root, state)).Select(f => Path.GetFileName(f))
            .Where(f => f != "_meta.json" && !f.StartsWith("rest-", StringComparison.Ordinal) && f != "patronictl-list.txt");
        var expected = PatroniFixtures.Meta(state).Select(m => m.File);
        Assert.That(files, Is.EquivalentTo(expected), "one file per key, named after the key with '/' as '__'");
        Assert.That(PatroniFixtures.Meta(state).Select(m => m.File), Is.EqualTo(PatroniFixtures.Meta(state).Select(m => m.Key.Replace("/", "__", StringComparison.Ordinal))));
    }

    [TestCaseSource(nameof(States))]
    public void SnapshotReadsWithoutProblems(string state)
    {
        var cluster = PatroniFixtures.Read(state);
        Assert.That(cluster.Problems, Is.Empty);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cluster.Members.Select(m => m.Name), Is.EqualTo(new[] { "node1", "node2", "node3" }));
            Assert.That(cluster.Initialize, Is.Not.Null);
            Assert.That(cluster.Config, Is.Not.Null);
            Assert.That(cluster.Leader, Is.Not.Null);
            Assert.That(cluster.Status, Is.Not.Null);
        }
    }

    [TestCaseSource(nameof(SnapshotKeys))]
    public void SnapshotValueWritesBackByteForByte(string state, string file)
    {
        var meta = PatroniFixtures.Meta(state).Single(m => m.File == file);
        var cluster = PatroniFixtures.Read(state);
        Assert.That(cluster.Problems, Is.Empty, "problems");

        var (value, version, session) = PatroniFixtures.WriteBack(cluster, meta.Key);
        Assert.That(value, Is.Not.Null, $"{meta.Key} is part of the cluster state");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(value, Is.EqualTo(PatroniFixtures.Text(state, file)), "text");
            Assert.That(Encoding.UTF8.GetBytes(value!), Is.EqualTo(PatroniFixtures.Bytes(state, file)), "bytes");
            Assert.That(version, Is.EqualTo(meta.DcsVersion), "version token = mod_revision");
            Assert.That(session, Is.EqualTo(meta.Session), "session = lease");
        }
    }

    [TestCaseSource(nameof(LoggedPuts))]
    public void LoggedValueWritesBackByteForByte(long revision)
    {
        var e = PatroniFixtures.Event(revision);
        var entry = PatroniFixtures.EntryOf(e);
        var cluster = ClusterStateReader.Read([entry]);
        Assert.That(cluster.Problems, Is.Empty, "problems");

        var (value, version, session) = PatroniFixtures.WriteBack(cluster, e.Key);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(value, Is.EqualTo(e.Value), "text");
            Assert.That(Encoding.UTF8.GetBytes(value ?? ""), Is.EqualTo(Encoding.UTF8.GetBytes(e.Value!)), "bytes");
            Assert.That(version, Is.EqualTo(entry.Version), "version token");
            Assert.That(session, Is.EqualTo(entry.Session), "session");
        }
    }

    [TestCaseSource(nameof(States))]
    public void EventLogReplaysToTheSnapshot(string state)
    {
        var revision = PatroniFixtures.StateRevisions[state];
        Assert.That(revision, Is.EqualTo(PatroniFixtures.Revision(state)), "state_revisions matches the snapshot's header revision");
        var replayed = PatroniFixtures.ReplayUntil(revision);
        var meta = PatroniFixtures.Meta(state);
        Assert.That(replayed.Keys, Is.EquivalentTo(meta.Select(m => m.Key)), "keys");
        using (Assert.EnterMultipleScope())
        {
            foreach (var m in meta)
            {
                var e = replayed[m.Key];
                Assert.That(e.Value, Is.EqualTo(PatroniFixtures.Text(state, m.File)), $"{m.Key} value");
                Assert.That(e.Revision, Is.EqualTo(m.ModRevision), $"{m.Key} mod_revision");
                Assert.That(e.CreateRevision, Is.EqualTo(m.CreateRevision), $"{m.Key} create_revision");
                Assert.That(e.Version, Is.EqualTo(m.Version), $"{m.Key} version");
                Assert.That(e.HasLease, Is.EqualTo(m.Lease != 0), $"{m.Key} has a lease");
                if (e.HasLease)
                    Assert.That(PatroniFixtures.EntryOf(e).Session, Is.EqualTo(m.Session), $"{m.Key}: the lease is its writer's");
            }
        }
    }

    [Test]
    public void EveryRevisionOfTheEventLogReadsWithoutProblems()
    {
        var last = PatroniFixtures.Events[^1].Revision;
        var checkedRevisions = 0;
        foreach (var e in PatroniFixtures.Events)
        {
            var store = PatroniFixtures.ReplayUntil(e.Revision);
            var cluster = ClusterStateReader.Read(store.Values.Select(PatroniFixtures.EntryOf));
            Assert.That(cluster.Problems, Is.Empty, $"problems after {e}");
            foreach (var (key, put) in store)
            {
                var (value, version, _) = PatroniFixtures.WriteBack(cluster, key);
                Assert.That(value, Is.EqualTo(put.Value), $"{key} after {e}");
                Assert.That(version, Is.EqualTo(new DcsVersion(put.Revision.ToString(CultureInfo.InvariantCulture))), $"{key} version after {e}");
            }
            checkedRevisions++;
        }
        Assert.That(checkedRevisions, Is.EqualTo(PatroniFixtures.Events.Count));
        Assert.That(last, Is.GreaterThan(PatroniFixtures.StateRevisions.Values.Max()), "the log goes on to the shutdown");
    }

    /// <summary>
    /// Patroni rewrote a key from one value to the next; PgHa, given the old value (its <c>RawJson</c>) and the new
    /// typed content, writes exactly the new value. Only <c>config</c> values written by <c>patronictl edit-config</c>
    /// (Python's default separators) differ, and then only in the separators.
    /// </summary>
    [TestCaseSource(nameof(LoggedChanges))]
    public void LoggedChangeIsReproducedFromTheOldValue(long fromRevision, long toRevision)
    {
        var from = PatroniFixtures.EntryOf(PatroniFixtures.Event(fromRevision));
        var to = PatroniFixtures.EntryOf(PatroniFixtures.Event(toRevision));
        var before = ClusterStateReader.Read([from]);
        var after = ClusterStateReader.Read([to]);
        Assert.That(before.Problems.Concat(after.Problems), Is.Empty, "problems");

        var written = to.Key switch
        {
            ClusterKeys.Config => ConfigCodec.Serialize(after.Config! with { RawJson = before.Config!.RawJson, Version = before.Config.Version }),
            ClusterKeys.Status => StatusCodec.Serialize(after.Status! with { RawJson = before.Status!.RawJson, Version = before.Status.Version }),
            ClusterKeys.Failover => FailoverCodec.Serialize(after.Failover! with { RawJson = before.Failover!.RawJson, Version = before.Failover.Version }),
            ClusterKeys.Sync => SyncCodec.Serialize(after.Sync! with { RawJson = before.Sync!.RawJson, Version = before.Sync.Version }),
            ClusterKeys.History => HistoryCodec.Serialize(after.History! with { RawJson = before.History!.RawJson, Version = before.History.Version }),
            ClusterKeys.Failsafe => FailsafeCodec.Serialize(after.Failsafe! with { RawJson = before.Failsafe!.RawJson, Version = before.Failsafe.Version }),
            _ => MemberCodec.Serialize(after.Members.Single() with { RawJson = before.Members.Single().RawJson, Version = before.Members.Single().Version }),
        };

        var expected = to.Value;
        if (to.Key == ClusterKeys.Config && PatroniFixtures.HasDefaultSeparators(to.Value))
            expected = PatroniJson.Serialize(JsonNode.Parse(to.Value)); // patronictl's own separators; Patroni's REST API writes this
        Assert.That(written, Is.EqualTo(expected));
    }

    [Test]
    public void ConfigWrittenByEditConfigStaysVerbatimWhileUnchanged()
    {
        var text = PatroniFixtures.Text("sync-mode", "config");
        Assert.That(text, Does.Contain("{\"ttl\": 30, \"loop_wait\": 10,"), "the fixture has patronictl's separators");
        var config = PatroniFixtures.Read("sync-mode").Config!;
        Assert.That(ConfigCodec.Serialize(config), Is.EqualTo(text));
        Assert.That(ConfigCodec.Serialize(config with { Version = new DcsVersion("999") }), Is.EqualTo(text), "the version token is not content");
    }

    [Test]
    public void PausingAConfigWrittenByEditConfigGivesPatronisCompactValue()
    {
        var failsafe = PatroniFixtures.Read("failsafe").Config!;
        Assert.That(ConfigCodec.Serialize(failsafe with { Pause = true }), Is.EqualTo(PatroniFixtures.Text("paused", "config")));
    }

    [Test]
    public void ResumingRemovesThePauseKey()
    {
        var paused = PatroniFixtures.Read("paused").Config!;
        Assert.That(ConfigCodec.Serialize(paused with { Pause = false }), Is.EqualTo(PatroniFixtures.Text("resumed", "config")));
    }

    [Test]
    public void TypedChangesAreAppendedInTheOrderPatroniAppendsThem()
    {
        var bootstrapped = PatroniFixtures.Read("bootstrapped").Config!;
        Assert.That(ConfigCodec.Serialize(bootstrapped with { SynchronousMode = true, FailsafeMode = true }),
            Is.EqualTo(PatroniFixtures.Text("resumed", "config")));
    }

    /// <summary>state, synchronous_mode, failsafe_mode, pause.</summary>
    public static IEnumerable<TestCaseData> ConfigFlags() =>
    [
        new TestCaseData("bootstrapped", false, false, false).SetArgDisplayNames("bootstrapped"),
        new TestCaseData("scheduled-switchover", false, false, false).SetArgDisplayNames("scheduled-switchover"),
        new TestCaseData("switchover-flushed", false, false, false).SetArgDisplayNames("switchover-flushed"),
        new TestCaseData("after-switchover", false, false, false).SetArgDisplayNames("after-switchover"),
        new TestCaseData("sync-mode", true, false, false).SetArgDisplayNames("sync-mode"),
        new TestCaseData("failsafe", true, true, false).SetArgDisplayNames("failsafe"),
        new TestCaseData("paused", true, true, true).SetArgDisplayNames("paused"),
        new TestCaseData("resumed", true, true, false).SetArgDisplayNames("resumed"),
        new TestCaseData("tags", true, true, false).SetArgDisplayNames("tags"),
    ];

    [TestCaseSource(nameof(ConfigFlags))]
    public void ConfigReadsAsBootstrappedPlusTheEditsOfTheState(string state, bool synchronousMode, bool failsafeMode, bool pause)
    {
        var cluster = PatroniFixtures.Read(state);
        var config = cluster.Config!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(config.Ttl, Is.EqualTo(30), "ttl");
            Assert.That(config.LoopWait, Is.EqualTo(10), "loop_wait");
            Assert.That(config.RetryTimeout, Is.EqualTo(10), "retry_timeout");
            Assert.That(config.MaximumLagOnFailover, Is.EqualTo(1048576), "maximum_lag_on_failover");
            Assert.That(config.UsePgRewind, Is.True, "postgresql.use_pg_rewind");
            Assert.That(config.UseSlots, Is.True, "postgresql.use_slots");
            Assert.That(config.SynchronousMode, Is.EqualTo(synchronousMode), "synchronous_mode");
            Assert.That(config.FailsafeMode, Is.EqualTo(failsafeMode), "failsafe_mode");
            Assert.That(config.Pause, Is.EqualTo(pause), "pause");
            Assert.That(cluster.IsPaused, Is.EqualTo(pause), "cluster paused");
            Assert.That(cluster.IsSynchronousModeActive, Is.EqualTo(synchronousMode), "synchronous mode active");
            Assert.That(config.PrimaryStartTimeout, Is.EqualTo(300), "default primary_start_timeout");
            Assert.That(config.SynchronousNodeCount, Is.EqualTo(1), "default synchronous_node_count");
            Assert.That(JsonNode.Parse(config.RawJson)!["postgresql"]!["parameters"]!.ToJsonString(), Is.EqualTo("{\"fsync\":false,\"max_connections\":100}"),
                "unmodelled keys stay in RawJson (YAML 'fsync: off' became false)");
        }
    }

    /// <summary>Patroni's own view of the cluster (<c>GET /cluster</c> from the leader) agrees with what PgHa read from etcd.</summary>
    [TestCaseSource(nameof(States))]
    public void ClusterStateAgreesWithPatronisRestCluster(string state)
    {
        var cluster = PatroniFixtures.Read(state);
        using var rest = JsonDocument.Parse(PatroniFixtures.Bytes(state, "rest-cluster.json"));
        var restMembers = rest.RootElement.GetProperty("members").EnumerateArray().ToList();
        Assert.That(restMembers.Select(m => m.GetProperty("name").GetString()), Is.EqualTo(cluster.Members.Select(m => m.Name)));
        using (Assert.EnterMultipleScope())
        {
            foreach (var r in restMembers)
            {
                var name = r.GetProperty("name").GetString()!;
                var m = cluster.GetMember(name)!;
                var expectedRole = cluster.LeaderName == name ? "leader"
                    : cluster.IsSynchronousModeActive && cluster.Sync!.SyncStandbys.Contains(name) ? "sync_standby"
                    : "replica";
                Assert.That(r.GetProperty("role").GetString(), Is.EqualTo(expectedRole), $"{name} role");
                Assert.That(r.GetProperty("state").GetString(), Is.EqualTo(m.State), $"{name} state");
                Assert.That(r.GetProperty("api_url").GetString(), Is.EqualTo(m.ApiUrl), $"{name} api_url");
                Assert.That(r.GetProperty("host").GetString(), Is.EqualTo(m.ConnHost), $"{name} host");
                Assert.That(r.GetProperty("port").GetInt32(), Is.EqualTo(m.ConnPort), $"{name} port");
                Assert.That(r.GetProperty("timeline").GetInt32(), Is.EqualTo(m.Timeline), $"{name} timeline");
                if (r.TryGetProperty("lag", out var lag))
                    Assert.That(lag.GetInt64(), Is.EqualTo(Math.Max(0, cluster.LastLeaderLsn - m.XlogLocation!.Value)), $"{name} lag");
                var restTags = r.TryGetProperty("tags", out var t) ? JsonNode.Parse(t.GetRawText())!.ToJsonString() : null;
                var ourTags = m.Tags.Entries.IsDefaultOrEmpty ? null : "{" + string.Join(",", m.Tags.Entries.Select(e => $"\"{e.Key}\":{e.Value}")) + "}";
                Assert.That(ourTags, Is.EqualTo(restTags), $"{name} tags");
            }

            Assert.That(rest.RootElement.TryGetProperty("pause", out var pause) && pause.GetBoolean(), Is.EqualTo(cluster.IsPaused), "pause");
            if (rest.RootElement.TryGetProperty("scheduled_switchover", out var scheduled))
            {
                Assert.That(cluster.HasFailoverRequest, Is.True, "a switchover is pending");
                Assert.That(FailoverCodec.FormatIso(cluster.Failover!.ScheduledAt!.Value), Is.EqualTo(scheduled.GetProperty("at").GetString()), "at");
                Assert.That(cluster.Failover.Leader, Is.EqualTo(scheduled.GetProperty("from").GetString()), "from");
                Assert.That(cluster.Failover.Candidate, Is.EqualTo(scheduled.GetProperty("to").GetString()), "to");
            }
            else
                Assert.That(cluster.HasFailoverRequest, Is.False, "no switchover pending");
        }
    }

    /// <summary><c>GET /config</c> and <c>GET /history</c> carry the same data as the keys (with Python's default separators).</summary>
    [TestCaseSource(nameof(States))]
    public void ConfigAndHistoryAgreeWithPatronisRestApi(string state)
    {
        var cluster = PatroniFixtures.Read(state);
        var restConfig = JsonNode.Parse(PatroniFixtures.Text(state, "rest-config.json"));
        var restHistory = JsonNode.Parse(PatroniFixtures.Text(state, "rest-history.json"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(JsonNode.DeepEquals(restConfig, JsonNode.Parse(cluster.Config!.RawJson)), Is.True, "config");
            Assert.That(JsonNode.DeepEquals(restHistory, JsonNode.Parse(cluster.History?.RawJson ?? "[]")), Is.True, "history ([] while the key is absent)");
            Assert.That(cluster.Timeline, Is.EqualTo(cluster.History is null ? 0 : 2), "timeline from history");
            Assert.That(cluster.Members.Select(m => m.Timeline).Distinct().Single(), Is.EqualTo(cluster.History is null ? 1 : 2), "members' timeline");
        }
    }
}
