using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Loop;

namespace PgHa.Simulation;

/// <summary>Peer <c>/patroni</c> queries across the simulated network; a stopped, dead or cut-off peer times out.</summary>
public sealed class SimPeerClient(SimScheduler scheduler, SimActor actor, SimNetwork network, int self, Func<string, SimNode?> nodeOf) : IPeerStatusClient
{
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
        scheduler.After(TimeSpan.FromMilliseconds(1), actor, () =>
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
}
