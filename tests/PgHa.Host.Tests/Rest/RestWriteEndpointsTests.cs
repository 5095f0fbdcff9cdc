using System.Net;
using System.Text.Json.Nodes;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Operations;

namespace PgHa.Host.Tests.Rest;

/// <summary>The mutating endpoints (patroni-compat.md §3.3): codes, messages and exactly what they write.</summary>
[TestFixture]
public sealed class RestWriteEndpointsTests
{
    private static async Task<(HttpStatusCode Status, string Body)> Send(RestFixture f, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : RestFixture.Json(json) };
        using var response = await f.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string?> Key(RestFixture f, string key) =>
        f.Store.ReadAll(f.Prefix).FirstOrDefault(e => e.Key == key)?.Value;

    [Test]
    public async Task PatchMergesDeletesWithNullAndWritesCompactly()
    {
        await using var f = await RestFixture.StartAsync();
        var (status, body) = await Send(f, HttpMethod.Patch, "/config", """{"loop_wait":5,"postgresql":{"use_pg_rewind":null,"parameters":{"work_mem":"8MB"}}}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(await Key(f, "config"), Is.EqualTo("""{"ttl":30,"loop_wait":5,"retry_timeout":10,"postgresql":{"parameters":{"max_connections":100,"work_mem":"8MB"}}}"""));
        Assert.That(JsonNode.Parse(body)!["loop_wait"]!.GetValue<int>(), Is.EqualTo(5));
        Assert.That(f.Operations.Wakes, Is.EqualTo(1), "the HA loop applies it on the next cycle, woken now");
    }

    [Test]
    public async Task PatchIsCompareAndSetOnTheVersionRead()
    {
        await using var f = await RestFixture.StartAsync();
        // Someone else writes between our read and our write: simulated by a DCS that changes the key after each read.
        var racing = new RacingDcs(f.Nodes[0]);
        await using var g = await RestFixture.StartAsync(configure: o => o with { Dcs = racing });
        racing.Target = g.Nodes[0];
        var (status, _) = await Send(g, HttpMethod.Patch, "/config", """{"loop_wait":5}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(await Key(g, "config"), Does.Contain("\"someone\":\"else\""));
    }

    [TestCase("""{"ttl":"thirty"}""", "ttl")]
    [TestCase("""{"loop_wait":25}""", "loop_wait + 2*retry_timeout")]
    [TestCase("""{"postgresql":{"parameters":[1,2]}}""", "postgresql.parameters")]
    public async Task PatchRefusesConfigurationsTheLoopCannotUse(string patch, string named)
    {
        await using var f = await RestFixture.StartAsync();
        var before = f.Dump();
        var (status, body) = await Send(f, HttpMethod.Patch, "/config", patch);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body, Does.Contain(named));
        Assert.That(f.Dump(), Is.EqualTo(before));
    }

    [Test]
    public async Task PatchWithoutAConfigKeyIsUnavailable()
    {
        await using var f = await RestFixture.StartAsync();
        await f.Nodes[0].TryDeleteAsync(ClusterKey.Config, WriteCondition.Always, CancellationToken.None);
        var (status, _) = await Send(f, HttpMethod.Patch, "/config", """{"ttl":30}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }

    [Test]
    public async Task PutReplacesTheWholeConfig()
    {
        await using var f = await RestFixture.StartAsync();
        var (status, _) = await Send(f, HttpMethod.Put, "/config", """{"ttl":20,"loop_wait":2,"retry_timeout":5}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Key(f, "config"), Is.EqualTo("""{"ttl":20,"loop_wait":2,"retry_timeout":5}"""));
    }

    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("{}")]
    [TestCase("\"text\"")]
    public async Task MalformedBodiesAreBadRequestsAndChangeNothing(string body)
    {
        await using var f = await RestFixture.StartAsync();
        var before = f.Dump();
        foreach (var (method, path) in new[] { (HttpMethod.Patch, "/config"), (HttpMethod.Put, "/config"), (HttpMethod.Post, "/switchover"), (HttpMethod.Post, "/failover") })
        {
            var (status, text) = await Send(f, method, path, body);
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"{method} {path}");
            Assert.That(text, Does.StartWith("Bad request"));
        }
        Assert.That(f.Dump(), Is.EqualTo(before));
    }

    [Test]
    public async Task ABodyWithoutContentLengthIsLengthRequiredAndAHugeOneTooLarge()
    {
        await using var f = await RestFixture.StartAsync(configure: o => o with { MaxRequestBodyBytes = 1024 });
        using var chunked = new HttpRequestMessage(HttpMethod.Patch, "/config") { Content = new StreamContent(new MemoryStream("""{"ttl":30}"""u8.ToArray())) };
        chunked.Headers.TransferEncodingChunked = true;
        using var lengthRequired = await f.Client.SendAsync(chunked);
        var (tooLarge, _) = await Send(f, HttpMethod.Patch, "/config", "{\"x\":\"" + new string('a', 5000) + "\"}");
        Assert.That(lengthRequired.StatusCode, Is.EqualTo(HttpStatusCode.LengthRequired));
        Assert.That(tooLarge, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
    }

    private static IEnumerable<TestCaseData> SwitchoverRefusals()
    {
        TestCaseData Row(string name, string path, string body, HttpStatusCode code, string message) => new TestCaseData(path, body, code, message).SetName(name);
        yield return Row("Failover needs a candidate", "/failover", """{"leader":"node1"}""", HttpStatusCode.BadRequest, "Failover could be performed only to a specific candidate");
        yield return Row("Switchover needs a leader", "/switchover", """{"candidate":"node2"}""", HttpStatusCode.BadRequest, "Switchover could be performed only from a specific leader");
        yield return Row("The leader must be the lock holder", "/switchover", """{"leader":"node2","candidate":"node3"}""", HttpStatusCode.PreconditionFailed, "leader name does not match");
        yield return Row("The candidate must be a member", "/switchover", """{"leader":"node1","candidate":"node9"}""", HttpStatusCode.PreconditionFailed, "candidate does not exists");
        yield return Row("A schedule needs a time zone", "/switchover", """{"leader":"node1","scheduled_at":"2099-01-01T10:00:00"}""", HttpStatusCode.BadRequest, "Timezone information is mandatory for the scheduled switchover");
        yield return Row("A schedule in the past is refused", "/switchover", """{"leader":"node1","scheduled_at":"2001-01-01T10:00:00+00:00"}""", HttpStatusCode.UnprocessableEntity, "Cannot schedule switchover in the past");
        yield return Row("An unparseable schedule is refused", "/switchover", """{"leader":"node1","scheduled_at":"tomorrow-ish"}""", HttpStatusCode.UnprocessableEntity, "Unable to parse scheduled timestamp");
        yield return Row("A non-string member is refused", "/switchover", """{"leader":"node1","candidate":7}""", HttpStatusCode.BadRequest, "candidate should be a string");
        yield return Row("Leader and candidate must differ", "/switchover", """{"leader":"node1","candidate":"node1"}""", HttpStatusCode.BadRequest, "Switchover target and source are the same");
    }

    [TestCaseSource(nameof(SwitchoverRefusals))]
    public async Task SwitchoverRefusalsWriteNothing(string path, string body, HttpStatusCode code, string message)
    {
        await using var f = await RestFixture.StartAsync();
        var before = f.Dump();
        var (status, text) = await Send(f, HttpMethod.Post, path, body);
        Assert.That(status, Is.EqualTo(code));
        Assert.That(text, Does.StartWith(message));
        Assert.That(f.Dump(), Is.EqualTo(before));
    }

    [Test]
    public async Task PausedClusterNeedsACandidateAndCannotSchedule()
    {
        await using var f = await RestFixture.StartAsync(paused: true);
        var (noCandidate, text1) = await Send(f, HttpMethod.Post, "/switchover", """{"leader":"node1"}""");
        var (scheduled, text2) = await Send(f, HttpMethod.Post, "/switchover", """{"leader":"node1","candidate":"node2","scheduled_at":"2099-01-01T10:00:00+00:00"}""");
        Assert.That((noCandidate, text1), Is.EqualTo((HttpStatusCode.BadRequest, "Switchover is possible only to a specific candidate in a paused state")));
        Assert.That((scheduled, text2), Is.EqualTo((HttpStatusCode.BadRequest, "Can't schedule switchover in the paused state")));
    }

    [Test]
    public async Task ASwitchoverWaitsForTheNewLeader()
    {
        await using var f = await RestFixture.StartAsync();
        // Plays the HA loops: once the request is in the DCS, node1 steps down and node2 takes the lock and clears it.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ha = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var cluster = await f.Nodes[0].LoadClusterAsync(stop.Token);
                if (cluster.HasFailoverRequest)
                {
                    await f.Nodes[0].ReleaseLeaderLockAsync(stop.Token);
                    await f.Nodes[1].TryAcquireLeaderLockAsync(TimeSpan.FromSeconds(30), stop.Token);
                    await f.Nodes[1].TrySetFailoverAsync(PgHa.Cluster.FailoverRequest.Cleared, WriteCondition.Always, stop.Token);
                    return cluster.Failover!;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, stop.Token);
            }
            return null;
        });
        var (status, text) = await Send(f, HttpMethod.Post, "/switchover", """{"leader":"node1","member":"node2"}""");
        var request = await ha;
        Assert.That((status, text), Is.EqualTo((HttpStatusCode.OK, "Successfully switched over to \"node2\"")));
        Assert.That(request!.RawJson, Is.EqualTo("""{"leader":"node1","member":"node2"}"""));
    }

    [Test]
    public async Task ASwitchoverTheLeaderCancelsFails()
    {
        await using var f = await RestFixture.StartAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ha = Task.Run(async () =>
        {
            while (!(await f.Nodes[0].LoadClusterAsync(stop.Token)).HasFailoverRequest)
                await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, stop.Token);
            await f.Nodes[0].TrySetFailoverAsync(PgHa.Cluster.FailoverRequest.Cleared, WriteCondition.Always, stop.Token);
        });
        var (status, text) = await Send(f, HttpMethod.Post, "/switchover", """{"leader":"node1"}""");
        await ha;
        Assert.That((status, text), Is.EqualTo((HttpStatusCode.ServiceUnavailable, "Switchover failed")));
    }

    [Test]
    public async Task AScheduledSwitchoverIsWrittenAndCanBeDeleted()
    {
        await using var f = await RestFixture.StartAsync();
        var (none, _) = await Send(f, HttpMethod.Delete, "/switchover");
        var (status, text) = await Send(f, HttpMethod.Post, "/switchover", """{"leader":"node1","candidate":"node3","scheduled_at":"2099-01-01T10:00:00+02:00"}""");
        Assert.That(none, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((status, text), Is.EqualTo((HttpStatusCode.Accepted, "Switchover scheduled")));
        Assert.That(await Key(f, "failover"), Is.EqualTo("""{"leader":"node1","member":"node3","scheduled_at":"2099-01-01T10:00:00+02:00"}"""));
        var (deleted, message) = await Send(f, HttpMethod.Delete, "/switchover");
        Assert.That((deleted, message), Is.EqualTo((HttpStatusCode.OK, "scheduled switchover deleted")));
        Assert.That(await Key(f, "failover"), Is.EqualTo("{}"));
    }

    [Test]
    public async Task RestartPassesPatroniFiltersAndAnswersWithTheOutcome()
    {
        await using var f = await RestFixture.StartAsync();
        var (ok, text) = await Send(f, HttpMethod.Post, "/restart", """{"role":"primary","postgres_version":"15.9","timeout":"30s","restart_pending":true}""");
        Assert.That((ok, text), Is.EqualTo((HttpStatusCode.OK, "restarted successfully")));
        var asked = f.Operations.Restarts.Single();
        Assert.That(asked, Is.EqualTo(new RestartRequest { Role = "primary", PostgresVersionBelow = 150009, PostgresVersionText = "15.9", Timeout = TimeSpan.FromSeconds(30), RestartPending = true }));
        f.Operations.RestartResult = new OperationResult(false, "restart conditions are not satisfied");
        var (refused, why) = await Send(f, HttpMethod.Post, "/restart");
        Assert.That((refused, why), Is.EqualTo((HttpStatusCode.ServiceUnavailable, "restart conditions are not satisfied")));
    }

    [TestCase("""{"role":"boss"}""", "PostgreSQL role should be either primary or replica")]
    [TestCase("""{"postgres_version":"15"}""", "Invalid PostgreSQL version format")]
    [TestCase("""{"timeout":-3}""", "Timeout should be a positive number of seconds")]
    [TestCase("""{"when":"now"}""", "Unknown filter for the scheduled restart: when")]
    [TestCase("""{"schedule":"2099-01-01T10:00:00"}""", "Timezone information is mandatory for the scheduled restart")]
    public async Task RestartRefusesBadFilters(string body, string message)
    {
        await using var f = await RestFixture.StartAsync();
        var (status, text) = await Send(f, HttpMethod.Post, "/restart", body);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(text, Does.StartWith(message));
        Assert.That(f.Operations.Restarts, Is.Empty);
    }

    [Test]
    public async Task ScheduledRestartsAreRecordedOnceAndCanBeDeleted()
    {
        await using var f = await RestFixture.StartAsync();
        var first = await Send(f, HttpMethod.Post, "/restart", """{"schedule":"2099-01-01T10:00:00+00:00"}""");
        var second = await Send(f, HttpMethod.Post, "/restart", """{"schedule":"2099-01-02T10:00:00+00:00"}""");
        var deleted = await Send(f, HttpMethod.Delete, "/restart");
        var none = await Send(f, HttpMethod.Delete, "/restart");
        Assert.That(first, Is.EqualTo((HttpStatusCode.Accepted, "Restart scheduled")));
        Assert.That(second, Is.EqualTo((HttpStatusCode.Conflict, "Another restart is already scheduled")));
        Assert.That(deleted, Is.EqualTo((HttpStatusCode.OK, "scheduled restart deleted")));
        Assert.That(none, Is.EqualTo((HttpStatusCode.NotFound, "no restarts are scheduled")));
    }

    [Test]
    public async Task ARestartCannotBeScheduledInPause()
    {
        await using var f = await RestFixture.StartAsync(paused: true);
        var answer = await Send(f, HttpMethod.Post, "/restart", """{"schedule":"2099-01-01T10:00:00+00:00"}""");
        Assert.That(answer, Is.EqualTo((HttpStatusCode.InternalServerError, "Can't schedule restart in the paused state")));
    }

    [Test]
    public async Task ReinitializeAndReload()
    {
        await using var f = await RestFixture.StartAsync();
        var started = await Send(f, HttpMethod.Post, "/reinitialize", """{"force":true}""");
        f.Operations.ReinitializeRefusal = "I am the leader, can not reinitialize";
        var refused = await Send(f, HttpMethod.Post, "/reinitialize");
        var reload = await Send(f, HttpMethod.Post, "/reload");
        Assert.That(started, Is.EqualTo((HttpStatusCode.OK, "reinitialize started")));
        Assert.That(f.Operations.Reinitializes, Is.EqualTo(new[] { true, false }));
        Assert.That(refused, Is.EqualTo((HttpStatusCode.ServiceUnavailable, "I am the leader, can not reinitialize")));
        Assert.That(reload, Is.EqualTo((HttpStatusCode.Accepted, "reload scheduled")));
        Assert.That(f.Operations.Reloads, Is.EqualTo(1));
    }

    /// <summary>Changes the config key right after every read, as a concurrent editor would.</summary>
    private sealed class RacingDcs(IDcs inner) : IDcs
    {
        public IDcs Target { get; set; } = inner;
        public string MemberName => Target.MemberName;
        public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl;
        public async Task<PgHa.Cluster.ClusterState> LoadClusterAsync(CancellationToken cancellationToken)
        {
            var state = await Target.LoadClusterAsync(cancellationToken);
            await Target.TryWriteAsync(ClusterKey.Config, """{"ttl":30,"someone":"else"}""", WriteCondition.Always, cancellationToken);
            return state;
        }
        public Task<PgHa.Cluster.LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken) => Target.TryAcquireLeaderLockAsync(ttl, cancellationToken);
        public Task<PgHa.Cluster.LeaderLock?> TryRenewLeaderLockAsync(PgHa.Cluster.LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken) => Target.TryRenewLeaderLockAsync(held, ttl, cancellationToken);
        public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) => Target.ReleaseLeaderLockAsync(cancellationToken);
        public Task TouchMemberAsync(PgHa.Cluster.Member self, TimeSpan ttl, CancellationToken cancellationToken) => Target.TouchMemberAsync(self, ttl, cancellationToken);
        public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken) => Target.TryWriteAsync(key, value, condition, cancellationToken);
        public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken) => Target.TryDeleteAsync(key, condition, cancellationToken);
        public Task DeleteClusterAsync(CancellationToken cancellationToken) => Target.DeleteClusterAsync(cancellationToken);
        public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => Target.WaitForChangeAsync(timeout, cancellationToken);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
