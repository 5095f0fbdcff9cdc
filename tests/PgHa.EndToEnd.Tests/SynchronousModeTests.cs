using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// Synchronous mode on a real cluster (etcd + three <c>pgha run</c>, ttl 10, loop_wait 2): a writer inserts through a
/// multi-host connection string while the leader is killed with kill -9 (agent and postmaster) again and again, each
/// time restarted once another node took over. Not one acknowledged write may be missing at the end.
/// </summary>
/// <remarks>
/// The number of failovers comes from <c>PGHA_E2E_SYNC_FAILOVERS</c> (default 8, about 2 minutes; issue #7 asks for
/// 20 or more, which takes about 5 minutes).
/// </remarks>
[TestFixture, Category("EndToEnd")]
public sealed class SynchronousModeTests
{
    private static readonly TimeSpan HealTimeout = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;

    private static long Now => TimeProvider.System.GetTimestamp();

    private static int Failovers =>
        int.TryParse(Environment.GetEnvironmentVariable("PGHA_E2E_SYNC_FAILOVERS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 8;

    private static void Report(string line)
    {
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine($"[{TestContext.CurrentContext.Test.Name}] {line}");
    }

    private Func<string> Because(Func<string> message) => () => message() + _cluster.Diagnostics();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        _cluster = await PgHaCluster.StartAsync();
        try
        {
            var health = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap from empty data directories");
            using var patch = new StringContent("""{"synchronous_mode": true}""", Encoding.UTF8, "application/json");
            using var answer = await _cluster.Http.PatchAsync(health.Leader.RestUrl + "/config", patch);
            Assert.That((int)answer.StatusCode, Is.EqualTo(200), $"PATCH /config synchronous_mode: {await answer.Content.ReadAsStringAsync()}");
            await health.Leader.QueryAsync("CREATE TABLE e2e_writes (id bigint PRIMARY KEY, port int, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
        catch
        {
            await _cluster.DisposeAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Test]
    public async Task RepeatedKillOfTheLeaderLosesNoAcknowledgedWrite()
    {
        await using var writer = new Writer(_cluster, firstId: 1);
        writer.Start();
        var failoverSeconds = new List<double>();
        for (var round = 1; round <= Failovers; round++)
        {
            var (health, syncStandby) = await WaitForSyncStandbyAsync($"before failover {round}");
            var old = health.Leader;
            Assert.That(await writer.WaitForAckAfterAsync(Now, TimeSpan.FromSeconds(30)), Is.True,
                Because(() => $"round {round}: the writer gets writes through before the kill (last error: {writer.LastError})"));
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);

            var postmaster = old.PostmasterPid();
            Assert.That(postmaster, Is.Not.Null, Because(() => $"{old.Name}'s postmaster runs"));
            old.KillAgent();
            Os.Signal(postmaster!.Value, Os.SIGKILL);
            var killedAt = Now;

            // Another node takes over: the writer gets an acknowledgement from a different server.
            Ack? first = null;
            var waitStarted = Now;
            while (first is null && TimeProvider.System.GetElapsedTime(waitStarted) < TimeSpan.FromSeconds(60))
            {
                first = writer.Acks.LastOrDefault(a => a.Sent > killedAt && a.Port != old.PgPort);
                if (first is null) await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
            Assert.That(first, Is.Not.Null, Because(() => $"round {round}: another node accepts writes within 60 s of killing {old.Name} (last error: {writer.LastError})"));
            var newLeader = _cluster.NodeByPort(first!.Port)!;
            failoverSeconds.Add(WriteHistory.Since(killedAt, first.At));
            Report($"failover {round}: killed {old.Name} (sync standby {syncStandby}); {newLeader.Name} acknowledged writes {failoverSeconds[^1]:0.0} s later");
            Assert.That(newLeader.Name, Is.EqualTo(syncStandby), Because(() => $"round {round}: only the synchronous standby {syncStandby} may take over"));
            old.StartAgent();
        }
        await WaitForSyncStandbyAsync("after the last failover");
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        await writer.StopAsync();

        var final = (await _cluster.WaitForHealthyAsync(HealTimeout, "at the end")).Leader;
        var acks = writer.Acks;
        var missing = await writer.MissingOnAsync(final);
        Report($"{Failovers} failovers (mean {failoverSeconds.Average():0.0} s, max {failoverSeconds.Max():0.0} s); writer: {acks.Count} writes acknowledged, " +
               $"{writer.Failures} failed attempts; acknowledged writes missing on the final leader {final.Name}: {missing.Count}");
        Assert.That(missing, Is.Empty, Because(() => $"no acknowledged write is lost in synchronous mode; missing: {string.Join(", ", missing.Take(20).Select(a => $"{a.Id}@{Writer.FormatLsn(a.Lsn)} (port {a.Port})"))}"));
    }

    /// <summary>One leader, two streaming replicas, and one of them listed as synchronous standby in <c>/cluster</c>.</summary>
    private async Task<(ClusterHealth Health, string SyncStandby)> WaitForSyncStandbyAsync(string context)
    {
        var started = Now;
        var seen = "";
        while (TimeProvider.System.GetElapsedTime(started) < HealTimeout)
        {
            var health = await _cluster.WaitForHealthyAsync(HealTimeout, context);
            try
            {
                using var response = await _cluster.Http.GetAsync(health.Leader.RestUrl + "/cluster");
                seen = await response.Content.ReadAsStringAsync();
                if (JsonNode.Parse(seen)?["members"] is JsonArray members
                    && members.OfType<JsonObject>().FirstOrDefault(m => m["role"]?.GetValue<string>() == "sync_standby") is { } sync)
                    return (health, sync["name"]!.GetValue<string>());
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                seen = ex.Message;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        Assert.Fail($"{context}: no synchronous standby within {HealTimeout.TotalSeconds:0} s; last /cluster: {seen}{_cluster.Diagnostics()}");
        throw new InvalidOperationException("unreachable");
    }
}
