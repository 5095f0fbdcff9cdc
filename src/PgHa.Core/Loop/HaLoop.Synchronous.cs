using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;

namespace PgHa.Loop;

public sealed partial class HaLoop
{
    /// <summary>How soon after a change of <c>synchronous_standby_names</c> the loop runs again to confirm the standby.</summary>
    private static readonly TimeSpan SyncConfirmationRecheck = TimeSpan.FromMilliseconds(500);

    private void WakeAfter(TimeSpan delay) => _ = WakeAfterAsync(delay);

    private async Task WakeAfterAsync(TimeSpan delay)
    {
        await Task.Delay(delay, _time).ConfigureAwait(false);
        Wake();
    }

    /// <summary>
    /// Synchronous mode's steps (false when the step failed, which ends the list it is in): the <c>sync</c> key (CAS; later steps only when it was written) and
    /// <c>synchronous_standby_names</c>, whose application is recorded as the new <see cref="SynchronousStandbyBaseline"/>.
    /// </summary>
    private async Task<bool> ExecuteSynchronousAsync(HaAction action, ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        switch (action)
        {
            case WriteSyncState write:
            {
                var state = new SyncState(write.Leader, write.Standbys, null, default);
                var written = await TryDcsAsync("sync", c => _dcs.TrySetSyncStateAsync(state, WriteCondition.FromRead(write.Version), c), ct).ConfigureAwait(false);
                if (!written) return false;
                SynchronousLog.SyncStateWritten(_logger, write.Standbys.IsDefaultOrEmpty ? "none" : string.Join(',', write.Standbys));
                await ExecuteAsync(write.OnWritten, cluster, pg, settings, ct).ConfigureAwait(false);
                return true;
            }
            case DeleteSyncState delete:
                if (!await TryDcsAsync("sync", c => _dcs.TryDeleteAsync(ClusterKey.Sync, WriteCondition.IfVersion(delete.Version), c), ct).ConfigureAwait(false))
                    return false;
                SynchronousLog.SyncStateDeleted(_logger);
                await ExecuteAsync(delete.OnDeleted, cluster, pg, settings, ct).ConfigureAwait(false);
                return true;
            case SetSynchronousStandbyNames set:
                try
                {
                    var flush = await WithDeadline(c => _pg.SetSynchronousStandbyNamesAsync(set.Value, c), ct).ConfigureAwait(false);
                    SynchronousLog.SynchronousStandbyNamesSet(_logger, set.Value ?? "<from parameters>");
                    Remember(m => m with { SyncBaseline = set.Value is not null && flush is { } lsn ? new SynchronousStandbyBaseline(set.Value, lsn) : null });
                    // A standby just named is added to the sync key only once it is seen confirmed, by a later cycle.
                    // Until then no replica may be promoted (none is in the key), so look again soon, not loop_wait
                    // later: Patroni waits 2 s and checks within the same cycle.
                    if (set.Value is not null) WakeAfter(SyncConfirmationRecheck);
                    return true;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // Retried next cycle; a promotion that follows in the same list must not run with the old value.
                    Log.ActionFailed(_logger, "set synchronous_standby_names", ex.Message);
                    return false;
                }
            default:
                throw new InvalidOperationException($"not a synchronous replication step: {action.Name}");
        }
    }
}
