using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Loop;

namespace PgHa.Simulation;

/// <summary>
/// Peer REST calls across the simulated network: <c>/patroni</c> queries and failsafe mode's <c>POST /failsafe</c>. A
/// stopped, dead or cut-off peer times out; a request is handled on the peer's own agent, so a peer stopped after the
/// request left handles it late (after the sender gave up), as a real one would.
/// </summary>
public sealed class SimPeerClient(SimScheduler scheduler, SimActor actor, SimNetwork network, int self, Func<string, SimNode?> nodeOf) : IPeerStatusClient, IFailsafePeerClient
{
    private static readonly TimeSpan Hop = TimeSpan.FromMilliseconds(1);

    /// <summary>Planted bug: every confirmation counts as accepted, whatever the peer said or whether it answered.</summary>
    public bool AcceptAll { get; init; }

    /// <summary>Planted bug: peers answer <c>Accepted</c> without recording the promise (they race and promote at once).</summary>
    public bool ForgetPromises { get; init; }

    /// <inheritdoc />
    public Task<PeerStatus> GetStatusAsync(Member member, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<PeerStatus>();
        var target = nodeOf(member.Name);
        var answers = target is not null && network.CanReachPeer(self, target.Index) && target.AgentAnswers;
        if (!answers)
        {
            scheduler.After(timeout, actor, () => tcs.TrySetResult(PeerStatus.Unreachable(member.Name)));
            return tcs.Task;
        }
        scheduler.After(Hop, actor, () =>
        {
            var s = target!.Server;
            tcs.TrySetResult(new PeerStatus(member.Name, true)
            {
                Role = !s.Running ? MemberRole.Unknown : s.Role == PostgresRole.Primary ? MemberRole.Primary : MemberRole.Replica,
                Lsn = s.Running ? s.Lsn : 0,
                Timeline = s.Timeline,
                Tags = target.Tags,
                // What /patroni says as watchdog_failed.
                WatchdogFailed = target.Agent?.WatchdogFailed ?? false,
            });
        });
        return tcs.Task;
    }

    /// <inheritdoc />
    public Task<bool> ConfirmFailsafeAsync(string member, string apiUrl, FailsafePing ping, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<bool>();
        scheduler.After(timeout, actor, () => tcs.TrySetResult(AcceptAll));
        var target = nodeOf(member);
        if (target is null || !network.CanReachPeer(self, target.Index)) return tcs.Task;
        var agent = target.Agent;
        var peerActor = target.Actor;
        if (agent is null || peerActor is null) return tcs.Task;
        // Handled when the peer's agent runs (a stopped agent handles it after it continues); the answer travels back
        // only if the link still works.
        scheduler.After(Hop, peerActor, () =>
        {
            var answer = ForgetPromises && agent.Settings.FailsafeMode ? FailsafeAnswer.Accepted : agent.AcceptFailsafe(ping);
            scheduler.After(Hop, actor, () =>
            {
                if (network.CanReachPeer(self, target.Index)) tcs.TrySetResult(AcceptAll || answer.IsAccepted);
            });
        });
        return tcs.Task;
    }
}
