using System.Net;
using System.Text.Json.Nodes;

namespace PgHa.Host.Tests.Rest;

/// <summary>The monitoring endpoints (patroni-compat.md §3.2) over HTTP, against an in-memory DCS.</summary>
[TestFixture]
public sealed class RestReadEndpointsTests
{
    [Test]
    public async Task ClusterListsMembersSortedWithRolesLagAndHosts()
    {
        await using var f = await RestFixture.StartAsync();
        using var response = await f.Client.GetAsync("/cluster");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var doc = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var members = doc["members"]!.AsArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(members.Select(m => m!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "node1", "node2", "node3" }));
            Assert.That(members[0]!["role"]!.GetValue<string>(), Is.EqualTo("leader"));
            Assert.That(members[0]!.AsObject().ContainsKey("lag"), Is.False, "the leader has no lag");
            Assert.That(members[1]!["role"]!.GetValue<string>(), Is.EqualTo("replica"));
            Assert.That(members[2]!["lag"]!.GetValue<long>(), Is.EqualTo(200));
            Assert.That(members[1]!["host"]!.GetValue<string>(), Is.EqualTo("127.0.0.2"));
            Assert.That(members[1]!["port"]!.GetValue<int>(), Is.EqualTo(5432));
            Assert.That(members[1]!["timeline"]!.GetValue<int>(), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task ClusterShowsAScheduledSwitchoverAndPause()
    {
        await using var f = await RestFixture.StartAsync(paused: true);
        await f.Nodes[0].TryWriteAsync(Dcs.ClusterKey.Failover, """{"leader":"node1","member":"node2","scheduled_at":"2030-01-01T12:00:00+00:00"}""", Dcs.WriteCondition.Always, CancellationToken.None);
        var doc = JsonNode.Parse(await f.Client.GetStringAsync("/cluster"))!;
        Assert.That(doc["pause"]!.GetValue<bool>(), Is.True);
        Assert.That(PgHa.Cluster.Serialization.PatroniJson.Serialize(doc["scheduled_switchover"]), Is.EqualTo("""{"at":"2030-01-01T12:00:00+00:00","from":"node1","to":"node2"}"""));
    }

    [Test]
    public async Task HistoryAndConfigComeFromTheDcs()
    {
        await using var f = await RestFixture.StartAsync();
        var history = JsonNode.Parse(await f.Client.GetStringAsync("/history"))!.AsArray();
        var config = JsonNode.Parse(await f.Client.GetStringAsync("/config"))!;
        Assert.That(history[0]![4]!.GetValue<string>(), Is.EqualTo("node1"));
        Assert.That(config["postgresql"]!["parameters"]!["max_connections"]!.GetValue<int>(), Is.EqualTo(100));
    }

    [Test]
    public async Task AMissingConfigKeyIsBadGateway()
    {
        await using var f = await RestFixture.StartAsync();
        await f.Nodes[0].TryDeleteAsync(Dcs.ClusterKey.Config, Dcs.WriteCondition.Always, CancellationToken.None);
        using var response = await f.Client.GetAsync("/config");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
    }

    [Test]
    public async Task MetricsUsePatroniNamesTypesAndLabels()
    {
        await using var f = await RestFixture.StartAsync();
        using var response = await f.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
            Assert.That(text, Does.Contain("# TYPE patroni_version gauge\npatroni_version{scope=\"batman\",name=\"node1\"} 030002\n"));
            Assert.That(text, Does.Contain("patroni_primary{scope=\"batman\",name=\"node1\"} 1\n"));
            Assert.That(text, Does.Contain("patroni_master{scope=\"batman\",name=\"node1\"} 1\n"));
            Assert.That(text, Does.Contain($"patroni_xlog_location{{scope=\"batman\",name=\"node1\"}} {RestTestNodes.LeaderOptime}\n"));
            Assert.That(text, Does.Contain("patroni_postgres_server_version{scope=\"batman\",name=\"node1\"} 150020\n"));
            Assert.That(text, Does.Contain("patroni_pending_restart{scope=\"batman\",name=\"node1\"} 0\n"));
            Assert.That(text, Does.Contain("patroni_is_paused{scope=\"batman\",name=\"node1\"} 0\n"));
            Assert.That(text, Does.Contain("# TYPE patroni_xlog_location counter"));
        }
        var names = text.Split('\n').Where(l => l.StartsWith("patroni_", StringComparison.Ordinal)).Select(l => l[..l.IndexOf('{', StringComparison.Ordinal)]).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "patroni_version", "patroni_postgres_running", "patroni_postmaster_start_time", "patroni_primary", "patroni_xlog_location",
            "patroni_standby_leader", "patroni_replica", "patroni_sync_standby", "patroni_xlog_received_location",
            "patroni_xlog_replayed_location", "patroni_xlog_replayed_timestamp", "patroni_xlog_paused", "patroni_postgres_streaming",
            "patroni_postgres_in_archive_recovery", "patroni_postgres_server_version", "patroni_cluster_unlocked",
            "patroni_failsafe_mode_is_active", "patroni_postgres_timeline", "patroni_dcs_last_seen", "patroni_pending_restart", "patroni_is_paused",
        }));
    }

    [Test]
    public async Task LivenessAndReadinessAnswerWithTheStatusLineOnly()
    {
        await using var f = await RestFixture.StartAsync();
        using var liveness = await f.Client.GetAsync("/liveness");
        using var readiness = await f.Client.GetAsync("/readiness");
        Assert.That(liveness.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(readiness.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await liveness.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public void LivenessFailsWhenTheLoopStopsAndPauseExcusesIt()
    {
        var node = RestTestNodes.Node(RestTestNodes.Replica(), leader: false);
        var stuck = RestTestNodes.Now + node.Settings.LoopWait + 2 * node.Settings.Ttl + TimeSpan.FromSeconds(1);
        Assert.That(HealthCheck.Liveness(node, RestTestNodes.Now), Is.EqualTo(200));
        Assert.That(HealthCheck.Liveness(node, stuck), Is.EqualTo(503));
        Assert.That(HealthCheck.Liveness(RestTestNodes.Node(RestTestNodes.Replica(), leader: false, paused: true), stuck), Is.EqualTo(200));
    }

    [Test]
    public async Task HealthChecksStayFastWhileTheDcsHangs()
    {
        await using var f = await RestFixture.StartAsync(configure: o => o with { Dcs = new HangingDcs() });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            using var r = await f.Client.GetAsync("/primary");
            Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        // Not a speed assertion: a health check that touched the hanging DCS would not return at all within the test.
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(9)));
    }

    /// <summary>A DCS whose every call hangs until cancelled.</summary>
    private sealed class HangingDcs : Dcs.IDcs
    {
        public string MemberName => "node1";
        public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl;
        private static async Task<T> Hang<T>(CancellationToken ct) { await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, ct); return default!; }
        public Task<Cluster.ClusterState> LoadClusterAsync(CancellationToken cancellationToken) => Hang<Cluster.ClusterState>(cancellationToken);
        public Task<Cluster.LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken) => Hang<Cluster.LeaderLock?>(cancellationToken);
        public Task<Cluster.LeaderLock?> TryRenewLeaderLockAsync(Cluster.LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken) => Hang<Cluster.LeaderLock?>(cancellationToken);
        public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public Task TouchMemberAsync(Cluster.Member self, TimeSpan ttl, CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public Task<bool> TryWriteAsync(Dcs.ClusterKey key, string value, Dcs.WriteCondition condition, CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public Task<bool> TryDeleteAsync(Dcs.ClusterKey key, Dcs.WriteCondition condition, CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public Task DeleteClusterAsync(CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => Hang<bool>(cancellationToken);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
