using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Postgres;

namespace PgHa.Loop;

/// <summary>
/// The user's commands around PostgreSQL events (patroni-compat.md §5.16): which callback follows which step, with
/// which role, and the bounds of the two hooks the loop waits for. The pure decider knows nothing of them, except that
/// a failed <c>pre_promote</c> takes the <see cref="Promote.OnPrePromoteFailed"/> branch.
/// </summary>
public sealed partial class HaLoop
{
    private readonly IPostgresCallbacks _callbacks;
    // The role the last callback reported (Demoted once a primary was stopped for a demotion); null until the first
    // callback, which is Patroni's "cb_called": only then can a later start be a role change rather than a start.
    private MemberRole? _callbackRole;

    /// <summary>
    /// How long the loop waits for <c>pre_promote</c>: ttl. The promotion runs as the background action, and while one
    /// runs every cycle still renews the lock and moves the write fence (<see cref="HaDecider"/>: busy ⇒ renew), so a
    /// slow script never puts the lock at risk; the bound is about availability. A fencing script that has not
    /// answered within ttl is treated as a refusal: it is killed, the lock is released and, for another ttl, a
    /// healthier-or-luckier node may take over — the cluster is never left without a writer indefinitely (Patroni
    /// waits for ever).
    /// </summary>
    internal static TimeSpan PrePromoteLimit(HaSettings settings) => settings.Ttl;

    /// <summary>
    /// How long the loop waits for <c>before_stop</c>: retry_timeout, the bound of every other PostgreSQL step. The
    /// stop it precedes runs in the background while the lock holder keeps renewing; after a lost lock the write fence
    /// stops a primary at the lock's guaranteed end whatever this script does, so the wait never delays safety.
    /// </summary>
    internal static TimeSpan BeforeStopLimit(HaSettings settings) => settings.RetryTimeout;

    /// <summary>The role callbacks are told about for an observed PostgreSQL.</summary>
    // The lock holder of a standby cluster runs a replica of the remote primary: its scripts are told standby_leader.
    private MemberRole CallbackRoleOf(PostgresStatus pg) =>
        pg.Role == PostgresRole.Primary ? MemberRole.Primary
        : Settings.StandbyCluster is not null && Memory.HeldLock is not null ? MemberRole.StandbyLeader
        : MemberRole.Replica;

    private void NotifyCallback(CallbackAction action, MemberRole role)
    {
        lock (_gate) _callbackRole = role;
        _callbacks.Notify(action, role);
    }

    /// <summary>
    /// Patroni calls <c>on_start</c> the first time it sees PostgreSQL running when nothing it did has reported
    /// anything yet: an agent (re)started next to a running server tells the scripts what it found.
    /// </summary>
    private void NotifyFirstSeenRunning(PostgresStatus pg)
    {
        if (!pg.IsRunning || Memory.Busy is not null) return;
        lock (_gate)
        {
            if (_callbackRole is not null) return;
        }
        NotifyCallback(CallbackAction.OnStart, CallbackRoleOf(pg));
    }

    /// <summary>
    /// Follows <paramref name="upstream"/>, then reports: a former primary (or one stopped for a demotion) now running
    /// as a replica is <c>on_role_change replica</c>; a replica PgHa started is <c>on_start replica</c>; a running
    /// replica merely pointed elsewhere is nothing.
    /// </summary>
    private async Task FollowAndNotifyAsync(Member? upstream, bool wasRunning, CancellationToken ct)
    {
        await _pg.FollowAsync(upstream, ct).ConfigureAwait(false);
        MemberRole? before;
        lock (_gate) before = _callbackRole;
        if (before is MemberRole.Primary or MemberRole.Promoted or MemberRole.Demoted or MemberRole.StandbyLeader)
            NotifyCallback(CallbackAction.OnRoleChange, MemberRole.Replica);
        else if (!wasRunning)
            NotifyCallback(CallbackAction.OnStart, MemberRole.Replica);
    }

    /// <summary>
    /// The promote step: <c>pre_promote</c> first (bounded by <see cref="PrePromoteLimit"/>); when it does not succeed,
    /// the <see cref="Promote.OnPrePromoteFailed"/> branch runs instead of the promotion and this node stays out of the
    /// race for ttl. When the lock was lost meanwhile, nothing is promoted either. Then <c>on_role_change primary</c>.
    /// </summary>
    private async Task PromoteWithHooksAsync(Promote promote, ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        var outcome = await _callbacks.RunPrePromoteAsync(PrePromoteLimit(settings), ct).ConfigureAwait(false);
        if (outcome is { Succeeded: false })
        {
            CallbackLog.PromotionAborted(_logger, outcome.Describe());
            Remember(m => m with { PrePromoteFailedAt = _time.GetUtcNow() });
            // The lock as last renewed (memory), not as read when the promotion began: renewals happened meanwhile.
            await ExecuteAsync(promote.OnPrePromoteFailed, cluster is null ? null : cluster with { Leader = null }, pg, settings, ct).ConfigureAwait(false);
            return;
        }
        // The lock must still be ours (renewed by the cycles meanwhile, its guarantee not run out) to promote under it.
        if (outcome is not null && Memory is var m && (m.HeldLock is null || m.LockValidUntil is not { } until || _time.GetUtcNow() >= until))
        {
            CallbackLog.LockLostBeforePromote(_logger);
            throw new InvalidOperationException("the leader lock was lost while pre_promote ran");
        }
        await _pg.PromoteAsync(ct).ConfigureAwait(false);
        NotifyCallback(CallbackAction.OnRoleChange, MemberRole.Primary);
    }

    /// <summary>Runs <c>before_stop</c> (bounded by <see cref="BeforeStopLimit"/>) when PostgreSQL runs; its outcome is only logged.</summary>
    private async Task BeforeStopAsync(bool running, HaSettings settings, CancellationToken ct)
    {
        if (running) await _callbacks.RunBeforeStopAsync(BeforeStopLimit(settings), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// After a stop: <c>on_stop</c> with the role PostgreSQL had (only when it was running). A primary stopped to step
    /// down is remembered as demoted, so its next start as a replica is a role change.
    /// </summary>
    private void AfterStop(PostgresStatus pg, bool demoting)
    {
        if (!pg.IsRunning) return;
        NotifyCallback(CallbackAction.OnStop, CallbackRoleOf(pg));
        if (demoting && pg.Role == PostgresRole.Primary)
            lock (_gate) _callbackRole = MemberRole.Demoted;
    }
}
