using System.Globalization;
using System.Text;
using Npgsql;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>
/// The chaos suite: a three-node cluster behind fault proxies, an application writing through a multi-host connection
/// string, split-brain probes on every node every 40 ms, and rounds of seeded random faults. Each round injects one
/// fault, holds it, undoes it and waits for the cluster to heal; the checkers run throughout. The CI short form is
/// <see cref="ChaosSettings.ShortFormRuns"/> rounds; <c>scripts/chaos</c> runs the long form (see docs/chaos.md).
/// </summary>
[TestFixture, Category("Chaos")]
public sealed class ChaosSuiteTests
{
    /// <summary>
    /// After the last fault is undone: one leader and two streaming replicas within ttl + 3·loop_wait +
    /// 3·retry_timeout + 30 s (the simulator's bound plus 20 s more for real processes: pg_rewind, restarts).
    /// </summary>
    public static readonly TimeSpan HealBound =
        PgHaCluster.Ttl + 3 * PgHaCluster.LoopWait + 3 * PgHaCluster.RetryTimeout + TimeSpan.FromSeconds(30);

    /// <summary>How long to keep waiting past the bound, to report a heal time even when it is too slow.</summary>
    private static readonly TimeSpan HealGiveUp = HealBound + TimeSpan.FromSeconds(90);

    private static long Now => TimeProvider.System.GetTimestamp();

    [Test]
    public async Task SeededFaultsNeverMakeTwoWritersNorLoseAcknowledgedWritesAndTheClusterHeals()
    {
        E2eEnvironment.RequireServers();
        var settings = ChaosSettings.FromEnvironment();
        var log = new EventLog(Now);
        log.Add($"chaos: {settings} (replay: PGHA_CHAOS_SEED={settings.Seed.ToString(CultureInfo.InvariantCulture)}); heal bound {HealBound.TotalSeconds:0} s");
        var random = new Random(settings.Seed);
        var result = new RunResult();

        await using var chaos = await ChaosCluster.StartAsync(settings.Synchronous);
        var cluster = chaos.Cluster;
        InjectedFault? active = null;
        SplitBrainProbes? probes = null;
        AckedWriter? writer = null;
        using var observerStop = new CancellationTokenSource();
        Task observer = Task.CompletedTask;
        try
        {
            var health = await cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap from empty data directories");
            log.Add($"bootstrapped in {cluster.Root}: {health.Description}");
            await health.Leader.QueryAsync("""
                CREATE TABLE chaos_writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE TABLE chaos_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
            // The replicas must have the tables before their probes can tell "read-only" from "no such table".
            health = await cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(30), "after creating the tables");
            // Replication really runs through the leader's proxy (taken from its published conn_url).
            foreach (var replica in health.Replicas)
            {
                var conninfo = await replica.ScalarAsync<string>("SELECT conninfo FROM pg_stat_wal_receiver");
                Assert.That(conninfo, Does.Contain($"port={chaos.Proxies(health.Leader).Postgres.Port.ToString(CultureInfo.InvariantCulture)}"),
                    $"{replica.Name} streams from {health.Leader.Name} through its PostgreSQL proxy");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);

            probes = new SplitBrainProbes(cluster.Nodes);
            writer = new AckedWriter(cluster, firstId: 1);
            probes.Start();
            writer.Start();
            observer = Task.Run(() => ObserveAsync(cluster, log, observerStop.Token));
            var injector = new FaultInjector(chaos, random);
            var deck = new Queue<FaultKind>();
            var started = Now;

            for (var round = 1; round <= settings.Runs; round++)
            {
                if (settings.Minutes is { } minutes && TimeProvider.System.GetElapsedTime(started).TotalMinutes >= minutes) break;
                health = await cluster.WaitForHealthyAsync(HealGiveUp, $"before round {round}");
                await Task.Delay(TimeSpan.FromSeconds(1 + random.NextDouble() * 2), TimeProvider.System);
                if (deck.Count == 0) foreach (var k in settings.Faults.OrderBy(_ => random.Next())) deck.Enqueue(k);
                var kind = deck.Dequeue();

                active = injector.Inject(kind, health);
                log.Add($"round {round}: inject {active} (leader was {health.Leader.Name}, TL{health.Timeline})");
                await Task.Delay(active.Hold, TimeProvider.System);
                active.Heal();
                var healedAt = Now;
                log.Add($"round {round}: faults undone ({kind})");
                active = null;
                result.Runs = round;

                var healSeconds = await WaitForHealAsync(cluster, healedAt);
                if (healSeconds is null)
                {
                    var (_, observed) = await cluster.ObserveAsync();
                    result.Violations.Add($"round {round} ({kind}): no leader with two streaming replicas {HealGiveUp.TotalSeconds:0} s after the faults stopped; last observed: {observed}");
                    log.Add($"round {round}: NOT HEALED within {HealGiveUp.TotalSeconds:0} s: {observed}");
                    result.Unhealed = true;
                    break;
                }
                result.HealSeconds.Add(healSeconds.Value);
                var (after, _) = await cluster.ObserveAsync();
                log.Add($"round {round}: healed in {healSeconds:0.0} s: leader {after?.Leader.Name ?? "?"}, TL{after?.Timeline.ToString(CultureInfo.InvariantCulture) ?? "?"}");
                if (TimeSpan.FromSeconds(healSeconds.Value) > HealBound)
                    result.Violations.Add($"round {round} ({kind}): healed in {healSeconds:0.0} s, more than the bound of {HealBound.TotalSeconds:0} s");

                // Lost acknowledged writes so far, judged against the current leader's history.
                if (after is not null)
                {
                    var lost = await CheckLostAsync(after.Leader, writer, chaos.Synchronous);
                    var fresh = lost.Where(l => result.LostSeen.Add(l.Write.Id)).ToList();
                    if (fresh.Count > 0) log.Add($"round {round}: {fresh.Count} acknowledged writes now missing on {after.Leader.Name}: {string.Join("; ", fresh.Take(10))}{(fresh.Count > 10 ? "; …" : "")}");
                }
            }

            // The end: stop the application and probes, judge everything on the final leader (when there is one: a
            // round that never healed has already recorded its violation; the trace must still be written).
            var (final, _) = result.Unhealed ? await cluster.ObserveAsync() : (await cluster.WaitForHealthyAsync(HealGiveUp, "at the end"), "");
            await writer.StopAsync();
            await probes.StopAsync();
            if (final is not null) result.Lost.AddRange(await CheckLostAsync(final.Leader, writer, chaos.Synchronous));
            else log.Add("no healthy leader at the end: acknowledged writes not checked");
            result.Acked = writer.Acks.Count;
            result.ProbeCount = probes.Results.Count;
            result.SplitBrains.AddRange(SplitBrainChecker.Find(probes.Results));
        }
        finally
        {
            active?.Heal();
            await observerStop.CancelAsync();
            await observer;
            if (writer is not null) await writer.DisposeAsync();
            if (probes is not null) await probes.DisposeAsync();
        }

        var incidents = Incidents(result.SplitBrains);
        var flagged = result.Lost.Where(l => l.Violation).ToList();
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"runs={result.Runs} split_brain={incidents.Count} lost_acked={flagged.Count} max_heal_s={(result.HealSeconds.Count == 0 ? "-" : result.HealSeconds.Max().ToString("0.0", CultureInfo.InvariantCulture))}");
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"seed={settings.Seed} synchronous_mode={(chaos.Synchronous ? "true" : "false")} acknowledged_writes={result.Acked} probes={result.ProbeCount} " +
            $"lost_within_lag={result.Lost.Count(l => !l.Violation)} (maximum_lag_on_failover={PgHaCluster.MaximumLagOnFailover}) heal_s=[{string.Join(", ", result.HealSeconds.Select(h => h.ToString("0.0", CultureInfo.InvariantCulture)))}]");
        log.Add(summary);
        log.Add(detail);
        log.Add("proxies at the end:\n" + chaos.ProxyStates());
        await TestContext.Out.WriteLineAsync(summary);
        await TestContext.Out.WriteLineAsync(detail);

        var violations = new List<string>(result.Violations);
        foreach (var incident in incidents) violations.Add($"split brain: {Describe(incident, log)}");
        foreach (var lost in flagged) violations.Add($"lost acknowledged write: {lost}");
        if (violations.Count > 0)
        {
            var trace = Trace(settings, log, violations, incidents, chaos);
            var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"chaos-trace-seed{settings.Seed.ToString(CultureInfo.InvariantCulture)}.txt");
            await File.WriteAllTextAsync(path, trace);
            TestContext.AddTestAttachment(path, "chaos trace: the event timeline, the evidence and the node logs' tails");
            await TestContext.Out.WriteLineAsync(trace);
        }
        Assert.That(violations, Is.Empty, $"{summary}; replay with PGHA_CHAOS_SEED={settings.Seed.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>Seconds from <paramref name="from"/> until one leader and two streaming replicas, or null when that does not come within <see cref="HealGiveUp"/>.</summary>
    private static async Task<double?> WaitForHealAsync(PgHaCluster cluster, long from)
    {
        while (TimeProvider.System.GetElapsedTime(from) < HealGiveUp)
        {
            var (health, _) = await cluster.ObserveAsync();
            if (health is not null) return TimeProvider.System.GetElapsedTime(from).TotalSeconds;
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        return null;
    }

    /// <summary>Acknowledged writes the leader does not have, each classified against its timeline history.</summary>
    private static async Task<IReadOnlyList<LostWrite>> CheckLostAsync(ClusterNode leader, AckedWriter writer, bool synchronous)
    {
        var acks = writer.Acks;
        if (acks.Count == 0) return [];
        await using var connection = await leader.OpenAsync(10);
        var segment = await ScalarAsync<string>(connection, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
        var timeline = int.Parse(segment[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var switchPoints = new Dictionary<int, ulong>();
        if (timeline > 1)
        {
            var history = await ScalarAsync<string>(connection, $"SELECT pg_read_file('pg_wal/{timeline:X8}.history')");
            switchPoints = LostWriteChecker.ParseHistory(history);
        }
        var present = new HashSet<long>();
        await using (var command = new NpgsqlCommand("SELECT id FROM chaos_writes WHERE id BETWEEN $1 AND $2", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = acks.Min(a => a.Id) });
            command.Parameters.Add(new NpgsqlParameter { Value = acks.Max(a => a.Id) });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) present.Add(reader.GetInt64(0));
        }
        return LostWriteChecker.Check(acks, present, timeline, switchPoints, synchronous, (ulong)PgHaCluster.MaximumLagOnFailover);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Logs every change of what the cluster looks like (DCS leader, each node's role/state/timeline), twice a second.</summary>
    private static async Task ObserveAsync(PgHaCluster cluster, EventLog log, CancellationToken stop)
    {
        var last = "";
        while (!stop.IsCancellationRequested)
        {
            var leader = await cluster.DcsLeaderAsync();
            var statuses = await Task.WhenAll(cluster.Nodes.Select(n => n.StatusAsync(cluster.Http)));
            var sb = new StringBuilder($"DCS leader={leader ?? "(none)"}");
            for (var i = 0; i < statuses.Length; i++)
            {
                var s = statuses[i];
                sb.Append("; ").Append(cluster.Nodes[i].Name).Append(": ");
                sb.Append(s is null ? "(no REST answer)" : $"{PgHaCluster.Str(s, "role")}/{PgHaCluster.Str(s, "state")} TL{PgHaCluster.Long(s, "timeline")?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
            }
            var now = sb.ToString();
            if (now != last) log.Add("observed: " + now);
            last = now;
            try { await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System, stop); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Evidence pairs grouped into incidents: the same two nodes, overlaps less than a second apart.</summary>
    private static List<List<SplitBrain>> Incidents(IEnumerable<SplitBrain> evidence)
    {
        var incidents = new List<List<SplitBrain>>();
        var oneSecond = TimeProvider.System.TimestampFrequency;
        foreach (var pair in evidence.OrderBy(e => e.OverlapFrom))
        {
            var match = incidents.FirstOrDefault(i => i[0].First.Node == pair.First.Node && i[0].Second.Node == pair.Second.Node && pair.OverlapFrom - i.Max(e => e.OverlapTo) < oneSecond);
            if (match is null) incidents.Add([pair]);
            else match.Add(pair);
        }
        return incidents;
    }

    private static string Describe(List<SplitBrain> incident, EventLog log)
    {
        var first = incident[0];
        return string.Create(CultureInfo.InvariantCulture,
            $"{first.First.Node} and {first.Second.Node} both accepted writes from t={log.Seconds(incident.Min(e => e.OverlapFrom)):0.000} s to t={log.Seconds(incident.Max(e => e.OverlapTo)):0.000} s ({incident.Count} pieces of evidence; first: {Interval(first.First, log)} overlaps {Interval(first.Second, log)})");
    }

    private static string Interval(PrimaryInterval i, EventLog log) => string.Create(CultureInfo.InvariantCulture,
        $"{i.Node} session {i.Session} {(i.Kind == IntervalKind.Span ? "primary throughout" : "commit within")} [{log.Seconds(i.From):0.000}, {log.Seconds(i.To):0.000}]");

    private static string Trace(ChaosSettings settings, EventLog log, List<string> violations, List<List<SplitBrain>> incidents, ChaosCluster chaos)
    {
        var sb = new StringBuilder();
        sb.Append("==== chaos trace ====\n").Append(settings).Append('\n');
        sb.Append("replay: PGHA_CHAOS_SEED=").Append(settings.Seed.ToString(CultureInfo.InvariantCulture)).Append(" scripts/chaos\n\n==== violations ====\n");
        foreach (var v in violations) sb.Append("* ").Append(v).Append('\n');
        foreach (var incident in incidents.Take(5))
        {
            sb.Append("\n==== evidence (up to 20 pairs) ====\n");
            foreach (var e in incident.Take(20)) sb.Append("  ").Append(Interval(e.First, log)).Append("  ×  ").Append(Interval(e.Second, log)).Append('\n');
            var from = incident.Min(e => e.OverlapFrom) - 5 * TimeProvider.System.TimestampFrequency;
            var to = incident.Max(e => e.OverlapTo) + 5 * TimeProvider.System.TimestampFrequency;
            sb.Append("\n==== timeline around it (±5 s) ====\n").Append(log.Render(from, to));
        }
        sb.Append("\n==== proxies at the end ====\n").Append(chaos.ProxyStates());
        sb.Append("\n==== full timeline ====\n").Append(log.Render());
        sb.Append("\n==== node logs ====").Append(chaos.Cluster.Diagnostics(200));
        return sb.ToString();
    }

    private sealed class RunResult
    {
        public int Runs { get; set; }
        public int Acked { get; set; }
        public int ProbeCount { get; set; }
        public bool Unhealed { get; set; }
        public List<double> HealSeconds { get; } = [];
        public List<string> Violations { get; } = [];
        public List<SplitBrain> SplitBrains { get; } = [];
        public List<LostWrite> Lost { get; } = [];
        public HashSet<long> LostSeen { get; } = [];
    }
}
