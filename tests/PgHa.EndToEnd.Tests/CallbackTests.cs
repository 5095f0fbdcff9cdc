using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.EndToEnd.Tests;

/// <summary>
/// <c>postgresql.callbacks</c> and <c>pre_promote</c> on a real cluster: every node runs a script that appends its
/// arguments to callbacks.log in the node's folder, and a pre_promote script that logs itself and refuses (exit 1)
/// while a <c>refuse</c> file exists next to it, so the test decides at run time which node may promote.
/// </summary>
[TestFixture, Category("EndToEnd")]
public sealed class CallbackTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private PgHaCluster _cluster = null!;

    private static string CallbackLog(ClusterNode node) => Path.Combine(node.Dir, "callbacks.log");

    private static string RefuseFile(ClusterNode node) => Path.Combine(node.Dir, "refuse");

    private static string Script(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Adds the callbacks to the node's local postgresql section; on_role_change passes an argument of its own.</summary>
    private static string WithCallbacks(ClusterNode node, string yaml)
    {
        var log = CallbackLog(node);
        var callback = Script(Path.Combine(node.Dir, "callback.sh"), $"echo \"$*\" >> '{log}'");
        var prePromote = Script(Path.Combine(node.Dir, "pre_promote.sh"), $"echo \"pre_promote $#\" >> '{log}'\n[ -e '{RefuseFile(node)}' ] && exit 1\nexit 0");
        const string section = "\npostgresql:\n";
        Assert.That(yaml.Split(section).Length, Is.EqualTo(2), "the node's YAML has one top-level postgresql section");
        return yaml.Replace(section, section + $"""
              callbacks:
                on_start: "{callback}"
                on_stop: '{callback}'
                on_role_change: {callback} 'role change'
              pre_promote: {prePromote}

            """, StringComparison.Ordinal);
    }

    private static string[] Lines(ClusterNode node) =>
        File.Exists(CallbackLog(node)) ? File.ReadAllLines(CallbackLog(node)) : [];

    /// <summary>Waits until <paramref name="node"/>'s callbacks.log holds <paramref name="line"/> (callbacks run asynchronously).</summary>
    private async Task<bool> LoggedAsync(ClusterNode node, string line)
    {
        var until = TimeProvider.System.GetUtcNow() + Patience;
        while (!Lines(node).Contains(line))
        {
            if (TimeProvider.System.GetUtcNow() > until) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
        return true;
    }

    private Func<string> Because(string message) => () => message + "\ncallbacks: " +
        string.Join("; ", _cluster.Nodes.Select(n => $"{n.Name}=[{string.Join(", ", Lines(n))}]")) + _cluster.Diagnostics();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        E2eEnvironment.RequireServers();
        _cluster = await PgHaCluster.StartAsync((root, ports) => new EtcdProcess(root, ports[0], ports[1]), WithCallbacks);
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Test]
    public async Task CallbacksReportStartsAndRoleChangesAndARefusingPrePromoteNeverLetsItsNodeLead()
    {
        var before = await _cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(150), "bootstrap with callbacks");
        var scope = PgHaCluster.Scope;
        Assert.That(await LoggedAsync(before.Leader, $"on_start master {scope}"), Is.True, Because($"the bootstrap leader {before.Leader.Name} reports on_start master"));
        foreach (var replica in before.Replicas)
            Assert.That(await LoggedAsync(replica, $"on_start replica {scope}"), Is.True, Because($"{replica.Name} reports on_start replica after its clone started"));

        // Both replicas refuse at first: whoever wins the race must give the lock back without promoting.
        var (refuser, taker) = (before.Replicas[0], before.Replicas[1]);
        foreach (var replica in before.Replicas) File.WriteAllText(RefuseFile(replica), "");
        var old = before.Leader;
        var postmaster = old.PostmasterPid();
        old.KillAgent();
        if (postmaster is { } pid) Os.Signal(pid, Os.SIGKILL);

        var refused = await Task.WhenAll(before.Replicas.Select(r => LoggedAsync(r, "pre_promote 0")));
        Assert.That(refused.Any(r => r), Is.True, Because("after the leader's lock expired a replica raced and ran pre_promote (with no arguments)"));
        foreach (var replica in before.Replicas)
        {
            var status = await replica.StatusAsync(_cluster.Http);
            Assert.That(status is null ? null : PgHaCluster.Str(status, "role"), Is.EqualTo("replica"), Because($"{replica.Name}'s refusing pre_promote kept it a replica"));
        }

        // Now one of them may: it becomes the leader and reports on_role_change master; the other never leads.
        File.Delete(RefuseFile(taker));
        Assert.That(await LoggedAsync(taker, $"role change on_role_change master {scope}"), Is.True, Because($"{taker.Name} promotes once its pre_promote agrees"));
        Assert.That(await _cluster.DcsLeaderAsync(), Is.EqualTo(taker.Name), Because($"{taker.Name} holds the leader lock"));
        old.StartAgent();
        var after = await _cluster.WaitForHealthyAsync(Patience, $"after restarting {old.Name}'s agent");

        Assert.That(after.Leader, Is.EqualTo(taker), Because($"{taker.Name} leads"));
        Assert.That(Lines(refuser), Has.None.StartsWith("role change on_role_change master"), Because($"{refuser.Name}, whose pre_promote refuses, never promoted"));
        Assert.That(await LoggedAsync(old, $"on_start replica {scope}"), Is.True, Because($"{old.Name}'s new agent started it as a replica and reported on_start"));
    }
}
