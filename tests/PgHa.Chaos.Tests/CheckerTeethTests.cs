using System.Globalization;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>
/// The split-brain checker's teeth on real PostgreSQL: a split brain made by hand, behind PgHa's back, must be caught.
/// A replica's agent is frozen (so it cannot demote what happens next) and its PostgreSQL promoted with
/// <c>pg_ctl promote</c> while the real leader keeps running: two primaries, and the probes must prove it.
/// </summary>
[TestFixture, Category("Chaos")]
public sealed class CheckerTeethTests
{
    [Test]
    public async Task APrimaryPromotedBehindPgHasBackIsCaughtAsASplitBrain()
    {
        E2eEnvironment.RequireServers();
        var log = new EventLog(TimeProvider.System.GetTimestamp());
        await using var chaos = await ChaosCluster.StartAsync(synchronous: false);
        var cluster = chaos.Cluster;
        var health = await cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap");
        await health.Leader.QueryAsync("CREATE TABLE chaos_probe (node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        await cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(30), "after creating the table");

        var rogue = health.Replicas[0];
        await using var probes = new SplitBrainProbes(cluster.Nodes);
        probes.Start();
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        var agent = rogue.AgentPid;
        Os.Signal(agent, Os.SIGSTOP);
        try
        {
            var promote = await ProcessLauncher.RunAsync(Path.Combine(E2eEnvironment.PgBinDirectory, "pg_ctl"), ["promote", "-w", "-D", rogue.DataDir], TimeSpan.FromSeconds(60));
            log.Add($"pg_ctl promote of {rogue.Name} (agent {agent} frozen) while {health.Leader.Name} leads: exit {promote.ExitCode} {promote.Stdout.Trim()} {promote.Stderr.Trim()}");
            Assert.That(promote.ExitCode, Is.Zero, () => $"pg_ctl promote {rogue.DataDir}: {promote.Stderr}{cluster.Diagnostics()}");
            await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
        }
        finally
        {
            Os.Signal(agent, Os.SIGCONT);
        }
        await probes.StopAsync();

        var found = SplitBrainChecker.Find(probes.Results);
        var pairs = found.Select(f => (f.First.Node, f.Second.Node)).Distinct().ToList();
        log.Add(string.Create(CultureInfo.InvariantCulture, $"checker: {found.Count} pieces of split-brain evidence between {string.Join(", ", pairs.Select(p => p.Item1 + "+" + p.Item2))}"));
        Assert.That(pairs, Does.Contain(Ordered(health.Leader.Name, rogue.Name)),
            () => $"the checker must see {health.Leader.Name} and the hand-promoted {rogue.Name} both accepting writes; found {found.Count} pairs");
    }

    private static (string, string) Ordered(string a, string b) => string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
}
