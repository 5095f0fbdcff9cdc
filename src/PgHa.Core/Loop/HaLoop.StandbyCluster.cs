using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;

namespace PgHa.Loop;

public sealed partial class HaLoop
{
    /// <summary>Runs a standby cluster's background steps (<see cref="BootstrapStandbyLeader"/>, <see cref="FollowRemotePrimary"/>).</summary>
    private void ExecuteStandbyCluster(HaAction action, HaSettings settings)
    {
        var remote = settings.StandbyCluster ?? throw new InvalidOperationException($"{action.Name} outside a standby cluster");
        switch (action)
        {
            case BootstrapStandbyLeader:
                StartBackground(BusyActionKind.Bootstrap, async c =>
                {
                    await _pg.CreateReplicaFromRemoteAsync(remote, c).ConfigureAwait(false);
                    var status = await _pg.GetStatusAsync(c).ConfigureAwait(false);
                    // Take the lock before starting, as a bootstrapping primary does: whoever holds it is the standby leader.
                    var sentAt = _time.GetUtcNow();
                    var won = await WithDeadline(x => _dcs.TryAcquireLeaderLockAsync(settings.Ttl, x), c).ConfigureAwait(false)
                              ?? throw new InvalidOperationException("another node took the leader lock while this node cloned the remote primary");
                    if (!await LockConfirmedAsync(won, sentAt, settings, c).ConfigureAwait(false))
                        throw new InvalidOperationException("the write fence could not be armed");
                    await WithDeadline(x => _dcs.TryWriteAsync(ClusterKey.Initialize, status.SystemId ?? "", WriteCondition.Always, x), c).ConfigureAwait(false);
                    await WithDeadline(x => _dcs.TrySetConfigAsync(_options.BootstrapConfig, WriteCondition.Always, x), c).ConfigureAwait(false);
                    await _pg.FollowRemotePrimaryAsync(remote, c).ConfigureAwait(false);
                    SlotsLog.StandbyLeaderBootstrapped(_logger, remote.Describe());
                });
                break;
            case FollowRemotePrimary:
                StartBackground(BusyActionKind.Start, c => _pg.FollowRemotePrimaryAsync(remote, c));
                break;
            default:
                throw new InvalidOperationException($"not a standby cluster step: {action.Name}");
        }
    }
}
