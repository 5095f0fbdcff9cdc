using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;

namespace PgHa.Loop;

public sealed partial class HaLoop
{
    private static readonly TimeSpan SyncReleasePoll = TimeSpan.FromMilliseconds(500);
    private int _leavingSync;

    /// <summary>The tags this node publishes: its own, plus <c>nosync</c> while it steps out of synchronous standby.</summary>
    private MemberTags PublishedTags =>
        Volatile.Read(ref _leavingSync) > 0 ? SynchronousReplication.LeavingTags(_options.Tags) : _options.Tags;

    /// <summary>
    /// Patroni's <c>while_not_sync_standby</c>: before a replica stops its PostgreSQL (restart, shutdown) in
    /// synchronous mode, it publishes <c>nosync</c> and waits up to 2 × loop_wait until the leader no longer lists it
    /// in the <c>sync</c> key, so commits do not stall on a standby that is going away. The tag is a hint: when the DCS
    /// cannot be read or the leader does not react in time, <paramref name="action"/> runs anyway.
    /// </summary>
    private async Task WhileNotSynchronousStandbyAsync(string what, Func<CancellationToken, Task> action, CancellationToken ct)
    {
        var settings = Settings;
        var me = _options.Identity.Name;
        var cluster = LastCycle?.Cluster;
        if (!settings.SynchronousMode || settings.Tags.NoSync || Memory.HeldLock is not null || cluster?.Leader?.Holder == me)
        {
            await action(ct).ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _leavingSync);
        try
        {
            var started = _time.GetUtcNow();
            var timeout = 2 * settings.LoopWait;
            SynchronousLog.LeavingSynchronousStandby(_logger, what, timeout);
            string? why = null;
            try
            {
                var self = MemberPublisher.Build(_options.Identity, LastCycle?.Postgres ?? PostgresStatus.Uninitialized, Memory, Settings);
                await WithDeadline(c => _dcs.TouchMemberAsync(self, settings.Ttl, c), ct).ConfigureAwait(false);
                while (true)
                {
                    var now = await WithDeadline(c => _dcs.LoadClusterAsync(c), ct).ConfigureAwait(false);
                    if (!SynchronousReplication.IsSynchronousStandby(now, me)) break;
                    var left = started + timeout - _time.GetUtcNow();
                    if (left <= TimeSpan.Zero)
                    {
                        why = "the leader did not release it within 2 × loop_wait";
                        break;
                    }
                    await Task.Delay(left < SyncReleasePoll ? left : SyncReleasePoll, _time, ct).ConfigureAwait(false);
                }
            }
            catch (DcsUnavailableException ex)
            {
                why = "DCS is not accessible: " + ex.Message;
            }
            if (why is null) SynchronousLog.ReleasedFromSynchronousStandby(_logger, _time.GetUtcNow() - started, what);
            else SynchronousLog.StillSynchronousStandby(_logger, _time.GetUtcNow() - started, why, what);
            await action(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _leavingSync);
        }
    }
}
