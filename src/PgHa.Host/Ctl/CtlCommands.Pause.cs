using System.Text.Json.Nodes;
using PgHa.Cluster;

namespace PgHa.Host.Ctl;

public static partial class CtlCommands
{
    /// <summary>
    /// <c>pause</c> / <c>resume</c>: <c>PATCH /config</c> with <c>{"pause": true}</c> / <c>{"pause": null}</c> on the first
    /// member that answers, leader first; with <paramref name="wait"/>, polls the member keys until every member that was
    /// there shows the new state (at most loop_wait + 1 seconds).
    /// </summary>
    public static async Task<int> TogglePauseAsync(CtlSession session, string? clusterName, bool paused, bool wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        if (cluster.IsPaused == paused) throw new CtlException($"Cluster is {(paused ? "already" : "not")} paused");

        var word = paused ? "pause" : "resume";
        var unreachable = new List<string>();
        foreach (var member in CtlMembers.LeaderFirst(cluster))
        {
            RestReply reply;
            try
            {
                reply = await session.RequestAsync(member, HttpMethod.Patch, "config", new JsonObject { ["pause"] = paused ? true : null }, cancellationToken).ConfigureAwait(false);
            }
            catch (MemberUnreachableException ex)
            {
                console.Error.WriteLine($"warning: {ex.Message}; Member {member.Name} is not accessible");
                unreachable.Add(member.Name);
                continue;
            }
            if (reply.Status != 200)
            {
                console.Out.WriteLine($"Failed: {word} cluster management status code={reply.Status}, ({reply.Body})");
                return 1;
            }
            if (wait) return await WaitUntilPauseIsAppliedAsync(session, paused, cluster, cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine($"Success: cluster management is {(paused ? "paused" : "resumed")}");
            return 0;
        }
        throw new CtlException("Can not find accessible cluster member" + (unreachable.Count > 0 ? $" (tried {string.Join(", ", unreachable)})" : "")
            + $". Start a member's agent, or change the setting in the DCS directly: pgha ctl edit-config -s pause={(paused ? "true" : "null")} --force");
    }

    private static async Task<int> WaitUntilPauseIsAppliedAsync(CtlSession session, bool paused, ClusterState old, CancellationToken cancellationToken)
    {
        var console = session.Console;
        console.Out.WriteLine($"'{(paused ? "pause" : "resume")}' request sent, waiting until it is recognized by all nodes");
        var before = old.Members.Where(m => m.ApiUrl is not null).ToDictionary(m => m.Name, m => m.Version, StringComparer.Ordinal);
        var loopWait = old.EffectiveConfig.LoopWait;
        var deadline = session.Runtime.Time.GetUtcNow() + TimeSpan.FromSeconds(loopWait + 1);
        ClusterState cluster;
        while (true)
        {
            cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
            if (cluster.Members.Where(m => before.ContainsKey(m.Name)).All(m => m.Pause == paused))
            {
                console.Out.WriteLine($"Success: cluster management is {(paused ? "paused" : "resumed")}");
                return 0;
            }
            if (session.Runtime.Time.GetUtcNow() >= deadline) break;
            await Task.Delay(TimeSpan.FromSeconds(1), session.Runtime.Time, cancellationToken).ConfigureAwait(false);
        }
        // As patronictl: members whose key did not change at all since are not blamed (their agent may be down).
        var remaining = cluster.Members.Where(m => m.Pause != paused && before.TryGetValue(m.Name, out var v) && v != m.Version).Select(m => m.Name).ToList();
        if (remaining.Count > 0)
        {
            console.Out.WriteLine($"{string.Join(", ", remaining)} members didn't recognized pause state after {loopWait} seconds");
            return 1;
        }
        console.Out.WriteLine($"Success: cluster management is {(paused ? "paused" : "resumed")}");
        return 0;
    }
}
