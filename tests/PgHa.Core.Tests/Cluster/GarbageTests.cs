using NUnit.Framework;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// One key of a healthy Patroni cluster (the <c>tags</c> snapshot) replaced by something broken or legacy:
/// <see cref="ClusterStateReader.Read"/> never throws, a broken value is reported under its key naming what is wrong,
/// every other key reads exactly as before, and everything read can be written back without throwing.
/// </summary>
[TestFixture]
public sealed class GarbageTests
{
    private const string Base = "tags";
    private const string Node1 = "members/node1";
    private const string Node1Head = "{\"conn_url\":\"postgres://127.0.0.1:25441/postgres\",\"api_url\":\"http://127.0.0.1:18101/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\"";

    /// <summary>A row: replace <paramref name="key"/> by <paramref name="value"/> (and drop <paramref name="alsoRemove"/>).</summary>
    /// <param name="name">The case, in words.</param>
    /// <param name="key">Key relative to the cluster prefix.</param>
    /// <param name="value">The value stored under it.</param>
    /// <param name="problem">A fragment of the expected problem text (naming the field), or null when the value is accepted without a problem.</param>
    /// <param name="check">What the value must read as.</param>
    /// <param name="alsoRemove">Keys removed from the base cluster for this row.</param>
    private static TestCaseData Row(string name, string key, string value, string? problem, Action<ClusterState>? check = null, params string[] alsoRemove) =>
        new TestCaseData(key, value, problem, check, alsoRemove).SetArgDisplayNames(name);

    public static IEnumerable<TestCaseData> Garbage()
    {
        // members/<name>
        yield return Row("member: not JSON", Node1, """{"conn_url":"postgres://""", "not valid JSON",
            c => Assert.That(c.GetMember("node1"), Is.EqualTo(new Member("node1") { Version = new("1000"), Session = c.GetMember("node1")!.Session, RawJson = """{"conn_url":"postgres://""" }), "only the name is left"));
        yield return Row("member: JSON array", Node1, "[1,2]", "expected a JSON object, found [1,2]", c => Assert.That(c.GetMember("node1")!.ConnUrl, Is.Null));
        yield return Row("member: JSON string", Node1, "\"node1\"", "expected a JSON object", c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: JSON null", Node1, "null", "expected a JSON object, found null", c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: empty value", Node1, "", "not valid JSON", c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: xlog_location is a non-numeric string", Node1, Node1Head + ""","xlog_location":"abc","timeline":2}""", "field 'xlog_location' should be an integer, found \"abc\"",
            c => Assert.That((c.GetMember("node1")!.XlogLocation, c.GetMember("node1")!.Timeline, c.GetMember("node1")!.ConnUrl), Is.EqualTo(((long?)null, (int?)2, "postgres://127.0.0.1:25441/postgres")), "the other fields are read"));
        yield return Row("member: timeline is fractional", Node1, Node1Head + ""","xlog_location":67109632,"timeline":1.5}""", "field 'timeline' should be an integer, found 1.5",
            c => Assert.That((c.GetMember("node1")!.Timeline, c.GetMember("node1")!.XlogLocation), Is.EqualTo(((int?)null, (long?)67109632))));
        yield return Row("member: tags is a number", Node1, Node1Head + ""","tags":5,"xlog_location":67109632,"timeline":2}""", "field 'tags' should be an object, found 5",
            c => Assert.That((c.GetMember("node1")!.Tags, c.GetMember("node1")!.Timeline), Is.EqualTo((MemberTags.Empty, (int?)2))));
        yield return Row("member: unknown role", Node1, Node1Head.Replace("replica", "boss", StringComparison.Ordinal) + ""","xlog_location":67109632,"timeline":2}""", "field 'role' has unknown value 'boss'",
            c => Assert.That((c.GetMember("node1")!.Role, c.GetMember("node1")!.XlogLocation), Is.EqualTo((MemberRole.Unknown, (long?)67109632))));
        yield return Row("member: role is a number", Node1, Node1Head.Replace("\"replica\"", "1", StringComparison.Ordinal) + ""","timeline":2}""", "field 'role' should be a string, found 1",
            c => Assert.That(c.GetMember("node1")!.Role, Is.EqualTo(MemberRole.Unknown)));
        yield return Row("member: conn_url is a number", Node1, """{"conn_url":5,"api_url":"http://127.0.0.1:18101/patroni"}""", "field 'conn_url' should be a string",
            c => Assert.That(c.GetMember("node1")!.ApiUrl, Is.EqualTo("http://127.0.0.1:18101/patroni")));
        yield return Row("member: pause is a list", Node1, Node1Head + ""","pause":[1]}""", "field 'pause' should be a boolean", c => Assert.That(c.GetMember("node1")!.Pause, Is.False));
        yield return Row("member: xlog_location beyond int64", Node1, Node1Head + ""","xlog_location":123456789012345678901234567890,"timeline":2}""", "field 'xlog_location' should be an integer, found 123456789012345678901234567890",
            c => Assert.That(c.GetMember("node1")!.XlogLocation, Is.Null));
        yield return Row("member: xlog_location 1e30", Node1, Node1Head + ""","xlog_location":1e30,"timeline":2}""", "field 'xlog_location' should be an integer, found 1e30",
            c => Assert.That(c.GetMember("node1")!.XlogLocation, Is.Null));
        yield return Row("member: xlog_location 1e400 (infinite as a double)", Node1, Node1Head + ""","xlog_location":1e400,"timeline":2}""", "field 'xlog_location' should be an integer",
            c => Assert.That(c.GetMember("node1")!.XlogLocation, Is.Null));
        yield return Row("member: timeline beyond int32", Node1, Node1Head + ""","xlog_location":67109632,"timeline":99999999999}""", "field 'timeline' is out of range",
            c => Assert.That(c.GetMember("node1")!.Timeline, Is.Null));
        yield return Row("member: nested 65 deep", Node1, Node1Head + ",\"x\":" + new string('[', 64) + new string(']', 64) + "}", "maximum configured depth of 64",
            c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: nested 100000 deep", Node1, new string('[', 100_000) + new string(']', 100_000), "maximum configured depth",
            c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: lone high surrogate escape in a value", Node1, Node1Head.Replace("running", "\\ud800", StringComparison.Ordinal) + ",\"timeline\":2}", "surrogate",
            c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: lone low surrogate escape in a key", Node1, Node1Head + ",\"\\udc00\":1}", "surrogate", c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: reversed surrogate pair escape", Node1, Node1Head + ",\"x\":\"\\udc00\\ud800\"}", "surrogate", c => Assert.That(c.HasMember("node1"), Is.True));
        yield return Row("member: raw lone surrogate in the decoded string", Node1, Node1Head + ",\"x\":\"\ud800\"}", "not valid JSON", c => Assert.That(c.HasMember("node1"), Is.True));

        // Accepted without a problem, as Patroni accepts them.
        yield return Row("member: duplicate key, the last one wins (Python json.loads)", Node1, Node1Head + ""","xlog_location":1,"role":"master","xlog_location":67109632}""", null,
            c => Assert.That((c.GetMember("node1")!.Role, c.GetMember("node1")!.XlogLocation), Is.EqualTo((MemberRole.Primary, (long?)67109632))));
        yield return Row("member: legacy bare postgres:// url with the api url in application_name", Node1,
            "postgres://replicator:secret@127.0.0.1:25441/postgres?application_name=http%3A%2F%2F127.0.0.1%3A18101%2Fpatroni", null,
            c => Assert.That((c.GetMember("node1")!.ConnUrl, c.GetMember("node1")!.ApiUrl), Is.EqualTo(("postgres://replicator:secret@127.0.0.1:25441/postgres", "http://127.0.0.1:18101/patroni"))));
        yield return Row("member: legacy bare postgres:// url", Node1, "postgres://127.0.0.1:25441/postgres", null,
            c => Assert.That((c.GetMember("node1")!.ConnUrl, c.GetMember("node1")!.ApiUrl, c.GetMember("node1")!.Role), Is.EqualTo(("postgres://127.0.0.1:25441/postgres", (string?)null, MemberRole.Unknown))));

        // leader
        yield return Row("leader: empty value", ClusterKeys.Leader, "", "leader key is empty",
            c => Assert.That((c.IsUnlocked, c.LeaderName, c.LeaderMember), Is.EqualTo((false, "", (Member?)null)), "still locked: nobody may race until it expires"));
        yield return Row("leader: blank value", ClusterKeys.Leader, " \n", "leader key is empty", c => Assert.That(c.IsUnlocked, Is.False));

        // config
        yield return Row("config: negative ttl", ClusterKeys.Config, """{"ttl":-5,"loop_wait":10,"synchronous_mode":true}""", "field 'ttl' must be positive, found -5",
            c => Assert.That((c.EffectiveConfig.Ttl, c.EffectiveConfig.LoopWait, c.EffectiveConfig.SynchronousMode), Is.EqualTo((30, 10, true))));
        yield return Row("config: ttl as the string \"30\" (accepted, as Patroni's parse_int does)", ClusterKeys.Config, """{"ttl":"30","loop_wait":"5"}""", null,
            c => Assert.That((c.EffectiveConfig.Ttl, c.EffectiveConfig.LoopWait), Is.EqualTo((30, 5))));
        yield return Row("config: ttl as a word", ClusterKeys.Config, """{"ttl":"abc"}""", "field 'ttl' should be an integer, found \"abc\"", c => Assert.That(c.EffectiveConfig.Ttl, Is.EqualTo(30)));
        yield return Row("config: ttl beyond int32", ClusterKeys.Config, """{"ttl":10000000000}""", "field 'ttl' is out of range", c => Assert.That(c.EffectiveConfig.Ttl, Is.EqualTo(30)));
        yield return Row("config: loop_wait zero", ClusterKeys.Config, """{"loop_wait":0}""", "field 'loop_wait' must be positive", c => Assert.That(c.EffectiveConfig.LoopWait, Is.EqualTo(10)));
        yield return Row("config: synchronous_mode not a boolean", ClusterKeys.Config, """{"synchronous_mode":"maybe"}""", "field 'synchronous_mode' should be a boolean",
            c => Assert.That(c.EffectiveConfig.SynchronousMode, Is.False));
        yield return Row("config: postgresql not an object", ClusterKeys.Config, """{"ttl":20,"postgresql":5}""", "field 'postgresql' should be an object",
            c => Assert.That((c.EffectiveConfig.Ttl, c.EffectiveConfig.UseSlots, c.EffectiveConfig.UsePgRewind), Is.EqualTo((20, true, false))));
        yield return Row("config: JSON array", ClusterKeys.Config, "[1]", "expected a JSON object, found [1]", c => Assert.That(c.EffectiveConfig.Ttl, Is.EqualTo(30)));
        yield return Row("config: not JSON", ClusterKeys.Config, "ttl: 30", "not valid JSON", c => Assert.That(c.Config, Is.Not.Null));
        yield return Row("config: NaN (Python's json.loads takes it, System.Text.Json does not)", ClusterKeys.Config, """{"ttl": NaN}""", "not valid JSON",
            c => Assert.That(c.EffectiveConfig.Ttl, Is.EqualTo(30)));

        // failover
        yield return Row("failover: scheduled_at without an offset", ClusterKeys.Failover, """{"leader":"node2","member":"node1","scheduled_at":"2026-11-26T01:24:13"}""",
            "field 'scheduled_at' is not an ISO-8601 time with an offset", c => Assert.That(c.HasFailoverRequest, Is.False, "ignored, as Patroni discards it"));
        yield return Row("failover: scheduled_at is a word", ClusterKeys.Failover, """{"leader":"node2","member":"node1","scheduled_at":"tomorrow"}""", "field 'scheduled_at'",
            c => Assert.That(c.HasFailoverRequest, Is.False));
        yield return Row("failover: scheduled_at is a number", ClusterKeys.Failover, """{"leader":"node2","scheduled_at":1764120253}""", "field 'scheduled_at'",
            c => Assert.That(c.HasFailoverRequest, Is.False));
        yield return Row("failover: leader is a number", ClusterKeys.Failover, """{"leader":2,"member":"node1"}""", "field 'leader' should be a string",
            c => Assert.That((c.Failover!.Leader, c.Failover.Candidate), Is.EqualTo(((string?)null, "node1"))));
        yield return Row("failover: JSON array", ClusterKeys.Failover, "[1]", "expected a JSON object", c => Assert.That(c.HasFailoverRequest, Is.False));
        yield return Row("failover: JSON string", ClusterKeys.Failover, "\"node1:node2\"", "expected a JSON object", c => Assert.That(c.HasFailoverRequest, Is.False));
        yield return Row("failover: broken JSON", ClusterKeys.Failover, """{"leader":"node2",""", "not valid JSON", c => Assert.That(c.HasFailoverRequest, Is.False));
        yield return Row("failover: legacy leader:candidate", ClusterKeys.Failover, "node2:node1", null,
            c => Assert.That((c.Failover!.Leader, c.Failover.Candidate, c.Failover.ScheduledAt), Is.EqualTo(("node2", "node1", (DateTimeOffset?)null))));
        yield return Row("failover: legacy :candidate", ClusterKeys.Failover, " : node1 ", null,
            c => Assert.That((c.Failover!.Leader, c.Failover.Candidate, c.Failover.IsSwitchover), Is.EqualTo(((string?)null, "node1", false))));
        yield return Row("failover: legacy with extra parts (Patroni keeps the first two)", ClusterKeys.Failover, "node2:node1:node3", null,
            c => Assert.That((c.Failover!.Leader, c.Failover.Candidate), Is.EqualTo(("node2", "node1"))));

        // history
        yield return Row("history: lines of the wrong shape", ClusterKeys.History,
            """[[1,67109256,"no recovery target specified","2026-11-26T00:24:19.492749+00:00","node2"],"x",[2],["a",5,"r"],[2,"lsn","r"],{"tl":3}]""", "line 1 is not [timeline, lsn, reason",
            c => Assert.That((c.History!.Entries.Length, c.Timeline), Is.EqualTo((1, 2)), "the good line is kept"));
        yield return Row("history: an object", ClusterKeys.History, "{}", "expected a JSON array", c => Assert.That(c.History!.Entries, Is.Empty));
        yield return Row("history: not JSON", ClusterKeys.History, "[[1,2,", "not valid JSON", c => Assert.That(c.History!.Entries, Is.Empty));

        // status and optime/leader
        yield return Row("status: non-integer slot positions", ClusterKeys.Status, """{"optime":67109632,"slots":{"a":"x","b":5,"c":1.5}}""", "slot 'a' has a non-integer position",
            c => Assert.That((c.LastLeaderLsn, c.Status!.Slots.Count, c.Status.Slots["b"]), Is.EqualTo((67109632L, 1, 5L))));
        yield return Row("status: slots not an object", ClusterKeys.Status, """{"optime":67109632,"slots":[1]}""", "field 'slots' should be an object",
            c => Assert.That(c.LastLeaderLsn, Is.EqualTo(67109632)));
        yield return Row("status: optime not an integer", ClusterKeys.Status, """{"optime":"abc"}""", "field 'optime' should be an integer", c => Assert.That(c.LastLeaderLsn, Is.Zero));
        yield return Row("status: retain_slots not an array", ClusterKeys.Status, """{"optime":67109632,"retain_slots":"node1"}""", "field 'retain_slots' should be an array",
            c => Assert.That(c.LastLeaderLsn, Is.EqualTo(67109632)));
        yield return Row("status: not JSON", ClusterKeys.Status, "67109632}", "not valid JSON", c => Assert.That(c.LastLeaderLsn, Is.Zero));
        yield return Row("optime/leader: legacy optime without status", ClusterKeys.LegacyOptime, "67109632", null,
            c => Assert.That(c.LastLeaderLsn, Is.EqualTo(67109632)), ClusterKeys.Status);
        yield return Row("optime/leader: not an integer", ClusterKeys.LegacyOptime, "abc", "expected an integer, found 'abc'",
            c => Assert.That((c.Status, c.LastLeaderLsn), Is.EqualTo(((ClusterStatus?)null, 0L))), ClusterKeys.Status);

        // sync
        yield return Row("sync: sync_standby a number", ClusterKeys.Sync, """{"leader":"node2","sync_standby":3}""", "field 'sync_standby' should be a string",
            c => Assert.That((c.Sync!.Leader, c.Sync.SyncStandbys.Length), Is.EqualTo(("node2", 0))));
        yield return Row("sync: JSON array", ClusterKeys.Sync, "[]", "expected a JSON object", c => Assert.That(c.Sync!.Leader, Is.Null));

        // failsafe
        yield return Row("failsafe: a url is a number", ClusterKeys.Failsafe, """{"node1":5,"node2":"http://127.0.0.1:18102/patroni"}""", "member 'node1' has a non-string url",
            c => Assert.That(c.Failsafe!.Members.Keys, Is.EquivalentTo(new[] { "node2" })));
        yield return Row("failsafe: JSON array", ClusterKeys.Failsafe, "[\"node1\"]", "expected a JSON object", c => Assert.That(c.Failsafe!.Members, Is.Empty));
    }

    [TestCaseSource(nameof(Garbage))]
    public void ReadNeverThrowsReportsTheKeyAndKeepsTheRest(string key, string value, string? problem, Action<ClusterState>? check, string[] alsoRemove)
    {
        var baseEntries = PatroniFixtures.Entries(Base);
        var session = baseEntries.FirstOrDefault(e => e.Key == key)?.Session;
        var entries = baseEntries.Where(e => e.Key != key && !alsoRemove.Contains(e.Key)).Append(new DcsEntry(key, value, new DcsVersion("1000"), session)).ToList();

        ClusterState? cluster = null;
        Assert.That(() => cluster = ClusterStateReader.Read(entries), Throws.Nothing);
        Assert.That(cluster, Is.Not.Null);

        using (Assert.EnterMultipleScope())
        {
            if (problem is null)
                Assert.That(cluster!.Problems, Is.Empty, "accepted as Patroni accepts it");
            else
            {
                Assert.That(cluster!.Problems, Has.Some.Matches<DcsDataProblem>(p => p.Key == key && p.Problem.Contains(problem, StringComparison.Ordinal)),
                    $"a problem for '{key}' containing \"{problem}\"; got: {string.Join(" | ", cluster.Problems)}");
                Assert.That(cluster.Problems.Select(p => p.Key), Has.All.EqualTo(key), "no other key is blamed");
            }

            var baseline = PatroniFixtures.Read(Base);
            foreach (var other in PatroniFixtures.Meta(Base).Select(m => m.Key).Where(k => k != key && !alsoRemove.Contains(k)))
                Assert.That(PatroniFixtures.WriteBack(cluster!, other), Is.EqualTo(PatroniFixtures.WriteBack(baseline, other)), $"{other} is intact");
            Assert.That(cluster!.Members.Where(m => ClusterKeys.Member(m.Name) != key), Is.EqualTo(baseline.Members.Where(m => ClusterKeys.Member(m.Name) != key)), "other members");

            Assert.That(() => PatroniFixtures.WriteBack(cluster, key), Throws.Nothing, "what was read can be written back");
            foreach (var m in cluster.Members)
                Assert.That(() => MemberCodec.Serialize(m with { XlogLocation = 1 }), Throws.Nothing, $"{m.Name} can be changed and written");
        }
        check?.Invoke(cluster!);
    }

    /// <summary>A value that reads with a problem but is not changed is written back as it was; nothing is "repaired" behind the writer's back.</summary>
    [TestCase("members/node1", """{"conn_url":"postgres://127.0.0.1:25441/postgres","role":"boss","timeline":1.5}""")]
    [TestCase("config", """{"ttl": -5, "loop_wait": "10"}""")]
    [TestCase("failover", """{"leader":"node2","member":"node1","scheduled_at":"2026-11-26T01:24:13"}""")]
    [TestCase("failover", "node2:node1")]
    [TestCase("members/node1", "postgres://127.0.0.1:25441/postgres?application_name=http://127.0.0.1:18101/patroni")]
    [TestCase("status", """{"optime":5,"slots":{"a":"x"}}""")]
    [TestCase("history", """[[1,67109256,"r"],"x"]""")]
    public void UnchangedProblemValueIsWrittenBackVerbatim(string key, string value)
    {
        var cluster = ClusterStateReader.Read([new DcsEntry(key, value, new DcsVersion("7"))]);
        Assert.That(PatroniFixtures.WriteBack(cluster, key).Value, Is.EqualTo(value));
    }

    private const string MemberWithUnknownFields =
        """{"conn_url":"postgres://127.0.0.1:25441/postgres","api_url":"http://127.0.0.1:18101/patroni","state":"running","role":"replica","version":"3.0.2","scheduled_restart":{"schedule":"2026-11-26T02:00:00+00:00","postmaster_start_time":"2026-11-26 00:24:02.307047+00:00"},"xlog_location":67109632,"timeline":2,"x_zone":"Zürich"}""";

    private static Member ReadMember(string value) => MemberCodec.Parse("node1", value, new DcsVersion("7"), "lease", []);

    [Test]
    public void MemberUnknownFieldsStayInPlaceWhenAKnownFieldChanges()
    {
        var member = ReadMember(MemberWithUnknownFields);
        var written = MemberCodec.Serialize(member with { XlogLocation = 67109700 });
        Assert.That(written, Is.EqualTo(MemberWithUnknownFields.Replace("67109632", "67109700", StringComparison.Ordinal).Replace("Zürich", "Z\\u00fcrich", StringComparison.Ordinal)),
            "changed in place; unknown fields kept where they were; re-emitted with Python's escaping");
    }

    [Test]
    public void MemberFieldsAddedToAnExistingValueGoWherePatroniPutsThem()
    {
        var member = ReadMember(MemberWithUnknownFields);
        var written = MemberCodec.Serialize(member with
        {
            Tags = new MemberTags([KeyValuePair.Create("nosync", "true")]),
            CheckpointAfterPromote = false,
            Pause = true,
        });
        Assert.That(written, Is.EqualTo(
            """{"conn_url":"postgres://127.0.0.1:25441/postgres","api_url":"http://127.0.0.1:18101/patroni","state":"running","role":"replica","version":"3.0.2","scheduled_restart":{"schedule":"2026-11-26T02:00:00+00:00","postmaster_start_time":"2026-11-26 00:24:02.307047+00:00"},"checkpoint_after_promote":false,"tags":{"nosync":true},"xlog_location":67109632,"timeline":2,"x_zone":"Z\u00fcrich","pause":true}"""));
    }

    [Test]
    public void MemberFieldsUnsetAreRemovedAndUnknownFieldsStay()
    {
        var member = ReadMember(MemberWithUnknownFields);
        var written = MemberCodec.Serialize(member with { State = "stopped", XlogLocation = null, Timeline = null });
        Assert.That(written, Is.EqualTo(
            """{"conn_url":"postgres://127.0.0.1:25441/postgres","api_url":"http://127.0.0.1:18101/patroni","state":"stopped","role":"replica","version":"3.0.2","scheduled_restart":{"schedule":"2026-11-26T02:00:00+00:00","postmaster_start_time":"2026-11-26 00:24:02.307047+00:00"},"x_zone":"Z\u00fcrich"}"""));
    }

    [Test]
    public void MemberWithABadFieldKeepsItWhenAnotherFieldChanges()
    {
        const string raw = """{"conn_url":"postgres://h:5432/postgres","role":"boss","timeline":1.5,"xlog_location":1}""";
        var member = ReadMember(raw);
        Assert.That(MemberCodec.Serialize(member with { XlogLocation = 2 }), Is.EqualTo(raw.Replace("\"xlog_location\":1", "\"xlog_location\":2", StringComparison.Ordinal)),
            "only the changed field is touched");
        Assert.That(MemberCodec.Serialize(member with { Role = MemberRole.Replica, Timeline = 3 }), Is.EqualTo("""{"conn_url":"postgres://h:5432/postgres","role":"replica","timeline":3,"xlog_location":1}"""),
            "setting a field replaces the bad value in place");
    }

    [Test]
    public void LegacyMemberIsRewrittenAsJsonOnceItChanges()
    {
        var member = ReadMember("postgres://127.0.0.1:25441/postgres?application_name=http://127.0.0.1:18101/patroni");
        Assert.That(MemberCodec.Serialize(member with { State = "running" }),
            Is.EqualTo("""{"conn_url":"postgres://127.0.0.1:25441/postgres","api_url":"http://127.0.0.1:18101/patroni","state":"running"}"""));
    }

    [Test]
    public void PrimaryStaysPrimaryWhenTheValueSaysSoAndMasterOtherwise()
    {
        var primary = ReadMember("""{"role":"primary","state":"running"}""");
        var master = ReadMember("""{"role":"master","state":"running"}""");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(MemberCodec.Serialize(primary with { State = "stopped" }), Is.EqualTo("""{"role":"primary","state":"stopped"}"""));
            Assert.That(MemberCodec.Serialize(master with { State = "stopped" }), Is.EqualTo("""{"role":"master","state":"stopped"}"""));
            Assert.That(MemberCodec.Serialize(master, legacyMasterRole: false), Is.EqualTo("""{"role":"primary","state":"running"}"""), "asked for primary: the role text changes");
        }
    }

    private const string ConfigWithUnknownFields =
        """{"ttl": 30, "slots": {"s1": {"type": "physical"}}, "standby_cluster": null, "custom": 1.50, "postgresql": {"parameters": {"wal_level": "logical"}}, "note": "Zürich"}""";

    [Test]
    public void ConfigUnknownFieldsStayWhenATypedPropertyChanges()
    {
        var config = ConfigCodec.Parse(ConfigWithUnknownFields, new DcsVersion("3"), []);
        Assert.That(ConfigCodec.Serialize(config with { Pause = true, Ttl = 20, UsePgRewind = true }), Is.EqualTo(
            """{"ttl":20,"slots":{"s1":{"type":"physical"}},"standby_cluster":null,"custom":1.50,"postgresql":{"parameters":{"wal_level":"logical"},"use_pg_rewind":true},"note":"Z\u00fcrich","pause":true}"""),
            "ttl in place, pause appended, use_pg_rewind appended inside postgresql, numbers keep their text");
    }

    [Test]
    public void ConfigBuiltFromTypedValuesWritesOnlyWhatDiffersFromPatronisDefaults()
    {
        var config = new GlobalConfig { Ttl = 20, LoopWait = 5, MaximumLagOnFailover = 1048576, SynchronousMode = true, UseSlots = false };
        Assert.That(ConfigCodec.Serialize(config), Is.EqualTo("""{"ttl":20,"loop_wait":5,"synchronous_mode":true,"postgresql":{"use_slots":false}}"""));
        Assert.That(ConfigCodec.Serialize(GlobalConfig.Default), Is.EqualTo("{}"));
    }

    [Test]
    public void ConfigLegacyAliasIsUpdatedUnderItsOwnName()
    {
        var config = ConfigCodec.Parse("""{"master_start_timeout":60}""", default, []);
        Assert.That(config.PrimaryStartTimeout, Is.EqualTo(60));
        Assert.That(ConfigCodec.Serialize(config with { PrimaryStartTimeout = 90 }), Is.EqualTo("""{"master_start_timeout":90}"""));
    }

    [Test]
    public void ConfigWithAStringTtlKeepsItWhileUnchanged()
    {
        var config = ConfigCodec.Parse("""{"ttl":"30","pause":true}""", default, []);
        Assert.That(ConfigCodec.Serialize(config with { Pause = false }), Is.EqualTo("""{"ttl":"30"}"""));
    }
}
