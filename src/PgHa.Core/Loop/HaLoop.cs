using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;
using PgHa.Postgres;

namespace PgHa.Loop;

/// <summary>
/// Runs the HA cycle: observe PostgreSQL, read the cluster, decide (<see cref="HaDecider"/>), execute the plan,
/// publish the member key; then wait for <c>loop_wait</c> or an earlier wake-up (a DCS change, a finished background
/// action, <see cref="Wake"/>). All time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Long PostgreSQL actions (bootstrap, clone, start, promote, demote, follow) run in the background so the loop keeps
/// renewing the lock meanwhile; only one runs at a time, recorded in <see cref="HaMemory.Busy"/>.
/// </remarks>
public sealed partial class HaLoop
{
    private readonly IDcs _dcs;
    private readonly IPostgresControl _pg;
    private readonly IPeerStatusClient _peers;
    private volatile HaNodeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private HaMemory _memory = HaMemory.Initial;
    private GlobalConfig _config;
    private TaskCompletionSource _wake = NewWake();
    private Task _background = Task.CompletedTask;
    // Cancels the background action in flight (POST /reinitialize with force); null when idle.
    private CancellationTokenSource? _backgroundCancel;
    private long _cycles;
    private static readonly TimeSpan BootstrapRecheck = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan DemotionLeaderPoll = TimeSpan.FromMilliseconds(50);
    private ReplicationSlotPlan? _syncedSlots;
    private long _failedCycles;

    /// <summary>Creates the loop for one node.</summary>
    /// <param name="dcs">The cluster's DCS.</param>
    /// <param name="postgres">The local PostgreSQL.</param>
    /// <param name="peers">Asks other members for their status (leader race).</param>
    /// <param name="options">This node's settings.</param>
    /// <param name="timeProvider">The only clock the loop reads.</param>
    /// <param name="logger">Log sink.</param>
    /// <param name="callbacks">The user's commands around PostgreSQL events (<c>postgresql.callbacks</c>, <c>pre_promote</c>, <c>before_stop</c>); null: none.</param>
    public HaLoop(IDcs dcs, IPostgresControl postgres, IPeerStatusClient peers, HaNodeOptions options, TimeProvider timeProvider, ILogger<HaLoop>? logger = null, IPostgresCallbacks? callbacks = null)
    {
        _callbacks = callbacks ?? NoCallbacks.Instance;
        _dcs = dcs;
        _pg = postgres;
        _peers = peers;
        _options = options;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _config = options.BootstrapConfig;
        _memory = HaMemory.Initial with { Failsafe = FailsafeMemory.Empty with { AgentStartedAt = timeProvider.GetUtcNow() } };
    }

    /// <summary>The agent's memory after the last cycle or background action.</summary>
    public HaMemory Memory { get { lock (_gate) return _memory; } }

    /// <summary>Cycles that ended with an unexpected exception (a bug); the loop carried on.</summary>
    public long FailedCycles => Interlocked.Read(ref _failedCycles);

    /// <summary>Number of cycles run.</summary>
    public long CycleCount => Interlocked.Read(ref _cycles);

    /// <summary>
    /// Test seam for the simulator's teeth tests: rewrites each plan before execution, to plant a broken rule and
    /// prove the invariant checker catches it. Never set in production.
    /// </summary>
    internal Func<HaPlan, HaPlan>? PlanFilter { get; set; }

    /// <summary>The last cycle's result, or null before the first cycle.</summary>
    public HaCycleResult? LastCycle { get; private set; }

    /// <summary>The settings of the last cycle.</summary>
    public HaSettings Settings => HaSettings.From(_config, _options.Identity.Name, PublishedTags, _options.CanBootstrap, _options.FenceSafetyMargin)
        with { CanCreateReplicaWithoutLeader = _options.CanCreateReplicaWithoutLeader };

    /// <summary>The background action in flight (completed when idle); tests and the simulator await it.</summary>
    public Task Background { get { lock (_gate) return _background; } }

    /// <summary>Runs the next cycle now instead of waiting (a REST request, a finished action).</summary>
    public void Wake()
    {
        TaskCompletionSource wake;
        lock (_gate) wake = _wake;
        wake.TrySetResult();
    }

    /// <summary>Runs cycles until cancelled, keeping the loop_wait period.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = _time.GetUtcNow();
            HaCycleResult? result;
            try
            {
                result = await RunCycleAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A bug must not stop the agent: the next cycle starts from a fresh observation. The write fence keeps
                // a primary safe meanwhile. Counted so tests and the simulator can insist on zero.
                Interlocked.Increment(ref _failedCycles);
                Log.CycleFailed(_logger, ex);
                result = null;
            }
            var loopWait = TimeSpan.FromSeconds(_config.LoopWait);
            // A node with nothing to run yet waits for a leader to become clonable; member updates do not wake it, so
            // it looks more often than loop_wait (only while it has no data directory).
            if (result?.Postgres.DataDirectory == DataDirectoryState.Empty && Memory.Busy is null && loopWait > BootstrapRecheck)
                loopWait = BootstrapRecheck;
            var now = _time.GetUtcNow();
            // The period counts from the start of this cycle, so early wake-ups never push the next renewal away.
            var next = started + loopWait;
            if (next <= now)
            {
                if (now - started > loopWait) Log.LoopTimeExceeded(_logger, now - started, loopWait);
                continue;
            }
            // Non-leaders wait on the DCS so a vanished or changed leader key wakes them at once.
            var watchDcs = result?.Cluster is { } seen && seen.Leader?.Holder != _options.Identity.Name;
            await WaitAsync(next - now, watchDcs, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(TimeSpan timeout, bool watchDcs, CancellationToken cancellationToken)
    {
        Task wake;
        lock (_gate)
        {
            // A wake-up that arrived during the cycle (a background action finished) means: run again now.
            if (_wake.Task.IsCompleted)
            {
                _wake = NewWake();
                return;
            }
            wake = _wake.Task;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, _time, cts.Token);
        var dcsWait = watchDcs ? _dcs.WaitForChangeAsync(timeout, cts.Token) : null;
        await (dcsWait is null ? Task.WhenAny(wake, delay) : Task.WhenAny(wake, delay, dcsWait)).ConfigureAwait(false);
        // Cancel (not CancelAsync): the registrations run inline, so no continuation hops to another thread. The
        // losers of the race are not awaited: a cancelled wait is the normal case, not worth an exception per cycle.
        cts.Cancel();
        if (dcsWait is not null) Observe(dcsWait);
        lock (_gate)
        {
            if (_wake.Task.IsCompleted) _wake = NewWake();
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Orderly shutdown of the node (SIGTERM), after <see cref="RunAsync"/> has stopped: PostgreSQL is stopped with a
    /// shutdown checkpoint and, if this node held the lock, the lock is released so a replica can take over at once
    /// instead of waiting for ttl. In maintenance mode PostgreSQL and the lock are left as they are, as Patroni does.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        // A background action may still be running (a clone, a promotion): let it finish first.
        try { await Background.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException) { }
        if (Settings.Pause)
        {
            Log.ShutdownLeavesPostgres(_logger);
            return;
        }
        var cluster = LastCycle?.Cluster;
        var pg = LastCycle?.Postgres ?? PostgresStatus.Uninitialized;
        await WhileNotSynchronousStandbyAsync("shutdown", async c =>
        {
            await BeforeStopAsync(pg.IsRunning, Settings, c).ConfigureAwait(false);
            await _pg.StopForDemoteAsync(DemoteMode.Graceful, c).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        AfterStop(pg, demoting: false);
        DisarmWatchdog();
        if (Memory.HeldLock is not null || cluster?.Leader?.Holder == _options.Identity.Name)
            await ReleaseAsync(cluster, cancellationToken).ConfigureAwait(false);
        await _pg.SetWriteFenceAsync(null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one cycle. Never throws except for cancellation.</summary>
    public async Task<HaCycleResult> RunCycleAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        ClusterState? cluster = null;
        try
        {
            cluster = await WithDeadline(ct => _dcs.LoadClusterAsync(ct), cancellationToken).ConfigureAwait(false);
            foreach (var p in cluster.Problems) Log.DcsDataProblem(_logger, p.ToString());
            if (cluster.Config is { } cfg && cfg.RawJson.Length > 2) _config = cfg;
            var leaderVersion = cluster.Leader?.Version;
            // Once the lock this node released is gone (or replaced), there is nothing left to guard against.
            Remember(m => NoteFailsafeRead(m with
            {
                LastDcsContact = now,
                AbandonedLock = m.AbandonedLock is { } gone && leaderVersion != gone ? null : m.AbandonedLock,
            }, cluster));
        }
        catch (DcsUnavailableException ex)
        {
            Log.DcsUnavailable(_logger, "load cluster", ex.Message);
        }

        // Observed after the DCS read, which can take up to retry_timeout: decide on the freshest local state.
        PostgresStatus pg;
        try
        {
            pg = await WithDeadline(ct => _pg.GetStatusAsync(ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Deciding on a guess could start a second postmaster or promote blindly; skipping is safe because the
            // write fence does not depend on this loop.
            Log.PostgresUnobservable(_logger, ex.Message);
            var skipped = new HaCycleResult(now, null, LastCycle?.Postgres ?? PostgresStatus.Uninitialized, HaPlan.NoAction("could not observe PostgreSQL"));
            LastCycle = skipped;
            return skipped;
        }

        await BeforeDecideAsync(cluster, pg, cancellationToken).ConfigureAwait(false);
        var settings = Settings;
        var local = WithWatchdog(new LocalNodeState(pg, Memory), settings);
        // The clock is read again: the DCS read may have taken up to retry_timeout, and lock-validity rules need now.
        var plan = HaDecider.Decide(cluster, local, settings, _time.GetUtcNow());
        if (plan.NeedsPeerStatus && cluster is not null)
        {
            local = local with { Peers = await GatherPeersAsync(cluster, cancellationToken).ConfigureAwait(false) };
            plan = HaDecider.Decide(cluster, local, settings, _time.GetUtcNow());
        }
        if (PlanFilter is not null) plan = PlanFilter(plan);
        if (_logger.IsEnabled(LogLevel.Information)) Log.CycleDecision(_logger, plan.Reason, plan.Describe());
        Interlocked.Increment(ref _cycles);

        if (cluster is not null && cluster.Leader is not null)
            Remember(m => m with { MembersWhenLastLocked = cluster.Members.Select(x => x.Name).ToImmutableArray() });

        await ExecuteAsync(plan.Actions, cluster, pg, settings, cancellationToken).ConfigureAwait(false);
        NotifyFirstSeenRunning(pg);
        DisarmWatchdogUnlessLeading(pg, settings);
        if (cluster is not null) await SyncReplicaSlotsAsync(cluster, pg, settings, cancellationToken).ConfigureAwait(false);
        var dcsFailed = await AfterDcsFailureAsync(cluster, pg, settings, cancellationToken).ConfigureAwait(false);

        if (cluster is not null && !dcsFailed)
        {
            try
            {
                var self = MemberPublisher.Build(_options.Identity, pg, Memory, settings);
                await WithDeadline(ct => _dcs.TouchMemberAsync(self, settings.Ttl, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DcsUnavailableException ex)
            {
                Log.DcsUnavailable(_logger, "touch member", ex.Message);
            }
        }

        var result = new HaCycleResult(now, cluster, pg, plan);
        LastCycle = result;
        return result;
    }

    private async Task<ImmutableArray<PeerStatus>> GatherPeersAsync(ClusterState cluster, CancellationToken cancellationToken)
    {
        var me = _options.Identity.Name;
        var asks = cluster.Members.Where(m => m.Name != me && m.ApiUrl is not null).Concat(FailsafeOnlyMembers(cluster))
            .Select(m => _peers.GetStatusAsync(m, _options.PeerStatusTimeout, cancellationToken)).ToArray();
        var answers = await Task.WhenAll(asks).ConfigureAwait(false);
        Log.PeersQueried(_logger, answers.Length, answers.Count(a => a.Reachable));
        return answers.ToImmutableArray();
    }

    private async Task ExecuteAsync(ImmutableArray<HaAction> actions, ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case AcquireLock acquire:
                {
                    var sentAt = _time.GetUtcNow();
                    LeaderLock? won = null;
                    try { won = await WithDeadline(c => _dcs.TryAcquireLeaderLockAsync(settings.Ttl, c), ct).ConfigureAwait(false); }
                    catch (DcsUnavailableException ex) { Log.DcsUnavailable(_logger, "acquire lock", ex.Message); }
                    if (won is not null && !await LockConfirmedAsync(won, sentAt, settings, ct).ConfigureAwait(false))
                    {
                        // Without a fence this node could outlive its lock as a writer: give the lock back at once.
                        await ReleaseAsync(cluster is null ? null : cluster with { Leader = won }, ct).ConfigureAwait(false);
                        await ExecuteAsync(acquire.OnLost, cluster, pg, settings, ct).ConfigureAwait(false);
                    }
                    else if (won is not null)
                    {
                        Log.LockAcquired(_logger, Memory.LockValidUntil!.Value);
                        await ExecuteAsync(acquire.OnWon, cluster, pg, settings, ct).ConfigureAwait(false);
                    }
                    else
                        await ExecuteAsync(acquire.OnLost, cluster, pg, settings, ct).ConfigureAwait(false);
                    break;
                }
                case RenewLock renew:
                {
                    var sentAt = _time.GetUtcNow();
                    LeaderLock? kept = null;
                    string why = "the lock is held by another member";
                    var dcsDown = false;
                    try { kept = await WithDeadline(c => _dcs.TryRenewLeaderLockAsync(renew.Held, settings.Ttl, c), ct).ConfigureAwait(false); }
                    catch (DcsUnavailableException ex) { why = "DCS is not accessible: " + ex.Message; dcsDown = true; }
                    if (dcsDown && !renew.OnDcsUnavailable.IsDefault)
                    {
                        // Not a lost lock: the guarantee so far still stands, and the branch (failsafe) may extend it.
                        Log.LockLost(_logger, why);
                        await ExecuteAsync(renew.OnDcsUnavailable, cluster, pg, settings, ct).ConfigureAwait(false);
                        break;
                    }
                    if (kept is not null && !await LockConfirmedAsync(kept, sentAt, settings, ct).ConfigureAwait(false))
                    {
                        kept = null;
                        why = "the write fence could not be moved or the required watchdog could not be armed";
                    }
                    if (kept is not null)
                    {
                        var slots = cluster is not null ? await SyncLeaderSlotsAsync(cluster, pg, settings, ct).ConfigureAwait(false) : null;
                        if (renew.Optime is { } optime)
                            await PublishStatusAsync(cluster, optime, slots, ct).ConfigureAwait(false);
                        await ExecuteAsync(renew.OnRenewed, cluster, pg, settings, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        Log.LockLost(_logger, why);
                        Remember(m => m with { HeldLock = null, LockValidUntil = null });
                        await ExecuteAsync(renew.OnFailed, cluster, pg, settings, ct).ConfigureAwait(false);
                    }
                    break;
                }
                case ReleaseLock:
                    await ReleaseAsync(cluster, ct).ConfigureAwait(false);
                    break;
                case RaceInitialize race:
                    if (await TryDcsAsync("initialize", c => _dcs.TryInitializeAsync("", c), ct).ConfigureAwait(false))
                        await ExecuteAsync(race.OnWon, cluster, pg, settings, ct).ConfigureAwait(false);
                    break;
                case WriteInitialize init:
                    await TryDcsAsync("initialize", c => _dcs.TryWriteAsync(ClusterKey.Initialize, init.SystemId, init.Condition, c), ct).ConfigureAwait(false);
                    break;
                case WriteConfig:
                    await TryDcsAsync("config", c => _dcs.TrySetConfigAsync(_options.BootstrapConfig, WriteCondition.FromRead(cluster?.Config?.Version), c), ct).ConfigureAwait(false);
                    break;
                case ClearFailover clear:
                    await TryDcsAsync("failover", c => _dcs.TrySetFailoverAsync(FailoverRequest.Cleared, WriteCondition.IfVersion(clear.Version), c), ct).ConfigureAwait(false);
                    break;
                case UpdateHistory update:
                    await UpdateHistoryAsync(update.Timeline, cluster, ct).ConfigureAwait(false);
                    break;
                case Bootstrap:
                    StartBackground(BusyActionKind.Bootstrap, async c =>
                    {
                        await _pg.BootstrapAsync(c).ConfigureAwait(false);
                        var status = await _pg.GetStatusAsync(c).ConfigureAwait(false);
                        // Take the lock at once, as Patroni's take_leader does; only then start accepting writes.
                        var sentAt = _time.GetUtcNow();
                        var won = await WithDeadline(x => _dcs.TryAcquireLeaderLockAsync(settings.Ttl, x), c).ConfigureAwait(false);
                        if (won is null)
                            throw new InvalidOperationException("another node took the leader lock while this node bootstrapped");
                        if (!await LockConfirmedAsync(won, sentAt, settings, c).ConfigureAwait(false))
                            throw new InvalidOperationException("the write fence could not be armed; not starting the new primary");
                        await WithDeadline(x => _dcs.TryWriteAsync(ClusterKey.Initialize, status.SystemId ?? "", WriteCondition.Always, x), c).ConfigureAwait(false);
                        await WithDeadline(x => _dcs.TrySetConfigAsync(_options.BootstrapConfig, WriteCondition.Always, x), c).ConfigureAwait(false);
                        await _pg.StartPrimaryAsync(c).ConfigureAwait(false);
                        NotifyCallback(CallbackAction.OnStart, MemberRole.Primary);
                    });
                    break;
                case CreateReplica create:
                {
                    var source = create.Source is null ? null : cluster?.GetMember(create.Source);
                    if (create.Source is not null && source is null) break;
                    StartBackground(BusyActionKind.CreateReplica, c => _pg.CreateReplicaAsync(source, c));
                    break;
                }
                case StartPrimaryInPlace:
                    Remember(m => m with { CrashRecoveryStartedAt = _time.GetUtcNow() });
                    StartBackground(BusyActionKind.Start, async c =>
                    {
                        try
                        {
                            await _pg.StartPrimaryAsync(c).ConfigureAwait(false);
                            Remember(m => m with { CrashRecoveryStartedAt = null, PrimaryStartFailed = false });
                            NotifyCallback(CallbackAction.OnStart, MemberRole.Primary);
                        }
                        catch
                        {
                            Remember(m => m with { CrashRecoveryStartedAt = null, PrimaryStartFailed = true });
                            throw;
                        }
                    });
                    break;
                case Follow follow:
                {
                    var upstream = follow.Upstream is null ? null : cluster?.GetMember(follow.Upstream);
                    // Without the upstream's member key there is no address to stream from; wait for it to reappear.
                    if (follow.Upstream is not null && upstream?.ConnUrl is null) break;
                    StartBackground(BusyActionKind.Start, async c =>
                    {
                        await _pg.SetWriteFenceAsync(null, c).ConfigureAwait(false);
                        await FollowAndNotifyAsync(upstream, pg.IsRunning, c).ConfigureAwait(false);
                    });
                    break;
                }
                case Promote promote:
                    StartBackground(BusyActionKind.Promote, c => PromoteWithHooksAsync(promote, cluster, pg, settings, c));
                    break;
                case Demote demote:
                    StartBackground(BusyActionKind.Demote, async c =>
                    {
                        await BeforeStopAsync(pg.IsRunning, settings, c).ConfigureAwait(false);
                        await _pg.StopForDemoteAsync(demote.Mode, c).ConfigureAwait(false);
                        AfterStop(pg, demoting: true);
                        // The demotion safepoint: PostgreSQL no longer accepts writes, so nothing needs resetting.
                        DisarmWatchdog();
                        if (demote.Mode is DemoteMode.Graceful or DemoteMode.Immediate)
                            await ReleaseAsync(cluster, c).ConfigureAwait(false);
                        Remember(m => m with { HeldLock = null, LockValidUntil = null });
                        _syncedSlots = null; // a future promotion starts from PostgreSQL's actual slots
                        await _pg.SetWriteFenceAsync(null, c).ConfigureAwait(false);
                        if (demote.Mode == DemoteMode.Graceful)
                            await StartAfterDemotionAsync(settings, c).ConfigureAwait(false);
                    });
                    break;
                case WriteFailsafe or ConfirmFailsafe:
                    await ExecuteFailsafeAsync(action, cluster, pg, settings, ct).ConfigureAwait(false);
                    break;
                case BootstrapStandbyLeader or FollowRemotePrimary:
                    ExecuteStandbyCluster(action, settings);
                    break;
                case WriteSyncState or DeleteSyncState or SetSynchronousStandbyNames:
                    // A failed step ends its list: what follows (a promotion) relies on it.
                    if (!await ExecuteSynchronousAsync(action, cluster, pg, settings, ct).ConfigureAwait(false)) return;
                    break;
                default:
                    throw new InvalidOperationException($"unknown action {action.Name}");
            }
        }
    }

    /// <summary>
    /// Records a confirmed lock and moves the write fence to its guaranteed end. False when the fence could not be
    /// moved: then this node cannot promise to stop in time and must not act as the leader.
    /// </summary>
    private async Task<bool> LockConfirmedAsync(LeaderLock held, DateTimeOffset sentAt, HaSettings settings, CancellationToken ct)
    {
        var validUntil = sentAt + _dcs.GuaranteedLockValidity(settings.Ttl);
        // A confirmed lock is the guarantee again: failsafe operation (if any) ends here, as Patroni's does.
        Remember(m => m with { HeldLock = held, LockValidUntil = validUntil, Failsafe = m.Failsafe with { ConfirmedUntil = null } });
        try
        {
            await _pg.SetWriteFenceAsync(validUntil - settings.FenceSafetyMargin, ct).ConfigureAwait(false);
            return WatchdogKeptAlive(settings, sentAt);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Log.FenceFailed(_logger, ex.Message);
            return false;
        }
    }

    private async Task ReleaseAsync(ClusterState? cluster, CancellationToken ct)
    {
        // Given up before the request is sent: whatever happens to the request, this lock is never served under again.
        var me = _options.Identity.Name;
        var version = cluster?.Leader is { } l && l.Holder == me ? l.Version : Memory.HeldLock?.Version;
        if (version is { } v) Remember(m => m with { AbandonedLock = v });
        var released = await TryDcsAsync("leader", c => _dcs.ReleaseLeaderLockAsync(c), ct).ConfigureAwait(false);
        Log.LockReleased(_logger, released);
        Remember(m => m with { HeldLock = null, LockValidUntil = null, PrimaryStartFailed = false });
    }

    /// <summary>
    /// Patroni's "starting after demotion": a node that stepped down for a switchover comes back as a replica of the
    /// new leader at once, instead of at a later cycle (which, in maintenance mode, would never start it). It waits
    /// (up to 2 × loop_wait) until the new leader's member key says it runs as a primary: following it earlier would
    /// stream from a standby that is about to switch timelines, find no replication slot yet, and judge divergence
    /// against a timeline that is about to change. Without such a leader in time it starts with no upstream; the next
    /// cycles point it at the leader.
    /// </summary>
    private async Task StartAfterDemotionAsync(HaSettings settings, CancellationToken ct)
    {
        var me = _options.Identity.Name;
        var until = _time.GetUtcNow() + 2 * settings.LoopWait;
        Member? leader = null;
        while (true)
        {
            try
            {
                var now = await WithDeadline(c => _dcs.LoadClusterAsync(c), ct).ConfigureAwait(false);
                if (now.LeaderMember is { ConnUrl: not null, Role: MemberRole.Primary, State: "running" } m && m.Name != me) leader = m;
            }
            catch (DcsUnavailableException ex)
            {
                Log.DcsUnavailable(_logger, "load cluster after demotion", ex.Message);
            }
            if (leader is not null || _time.GetUtcNow() >= until) break;
            await Task.Delay(DemotionLeaderPoll, _time, ct).ConfigureAwait(false);
        }
        await FollowAndNotifyAsync(leader, wasRunning: false, ct).ConfigureAwait(false);
    }

    private async Task UpdateHistoryAsync(int timeline, ClusterState? cluster, CancellationToken ct)
    {
        IReadOnlyList<TimelineHistoryEntry> lines;
        try { lines = await WithDeadline(c => _pg.ReadTimelineHistoryAsync(timeline, c), ct).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException) { Log.ActionFailed(_logger, "read timeline history", ex.Message); return; }
        var known = cluster?.History?.Entries ?? ImmutableArray<TimelineHistoryEntry>.Empty;
        var merged = lines.Select((line, i) =>
        {
            // Keep timestamps and leader names the DCS already has; stamp the newest switch with this promotion.
            var old = known.FirstOrDefault(k => k.Timeline == line.Timeline);
            if (old is not null) return line with { Timestamp = old.Timestamp, NewLeader = old.NewLeader };
            return i == lines.Count - 1 ? line with { Timestamp = Cluster.Serialization.FailoverCodec.FormatIso(_time.GetUtcNow()), NewLeader = _options.Identity.Name } : line;
        }).ToImmutableArray();
        await TryDcsAsync("history", c => _dcs.TrySetHistoryAsync(new TimelineHistory(merged, default), WriteCondition.Always, c), ct).ConfigureAwait(false);
    }

    private bool StartBackground(BusyActionKind kind, Func<CancellationToken, Task> work)
    {
        CancellationTokenSource cancel;
        lock (_gate)
        {
            if (_memory.Busy is not null || FailsafeVetoes(kind, _memory, _time.GetUtcNow())) return false;
            _memory = _memory with { Busy = new BusyAction(kind, _time.GetUtcNow()) };
            _backgroundCancel = cancel = new CancellationTokenSource();
        }
        // Outside the lock: the work runs synchronously up to its first real wait and may update memory itself.
        var task = RunBackgroundAsync(kind, work, cancel);
        lock (_gate) _background = task;
        return true;
    }

    private async Task RunBackgroundAsync(BusyActionKind kind, Func<CancellationToken, Task> work, CancellationTokenSource cancel)
    {
        var started = _time.GetUtcNow();
        var name = kind.ToString();
        Log.ActionStarted(_logger, name);
        var succeeded = false;
        try
        {
            await work(cancel.Token).ConfigureAwait(false);
            Log.ActionFinished(_logger, name, _time.GetUtcNow() - started);
            succeeded = true;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Log.ActionCancelled(_logger, name);
        }
        catch (Exception ex)
        {
            Log.ActionFailed(_logger, name, ex.Message);
        }
        finally
        {
            // Not disposed: a canceller may still hold it, and a source without a timer owns nothing to release.
            lock (_gate)
            {
                if (_backgroundCancel == cancel) _backgroundCancel = null;
            }
            Remember(m => m with { Busy = null });
        }
        // Success changes the picture: decide again at once. A failure is retried at the normal pace, not in a tight
        // loop that would hammer PostgreSQL and the log.
        if (succeeded) Wake();
    }

    private async Task<bool> TryDcsAsync(string key, Func<CancellationToken, Task<bool>> write, CancellationToken ct)
    {
        try
        {
            var ok = await WithDeadline(write, ct).ConfigureAwait(false);
            if (!ok) Log.DcsWriteRejected(_logger, key, "conditional write");
            return ok;
        }
        catch (DcsUnavailableException ex)
        {
            Log.DcsUnavailable(_logger, "write " + key, ex.Message);
            _dcsFailedInCycle = true;
            return false;
        }
    }

    /// <summary>Every DCS and PostgreSQL call gets retry_timeout; running past it is the same as the DCS being unreachable.</summary>
    private async Task<T> WithDeadline<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        // The deadline runs on the injected clock, so the simulator's virtual time drives it too.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(_config.RetryTimeout), _time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            return await call(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DcsUnavailableException($"no answer within retry_timeout ({_config.RetryTimeout} s)");
        }
    }

    private async Task WithDeadline(Func<CancellationToken, Task> call, CancellationToken ct) =>
        await WithDeadline(async c => { await call(c).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false);

    private void Remember(Func<HaMemory, HaMemory> change)
    {
        lock (_gate) _memory = change(_memory);
    }

    // Continuations run inline on whoever completes the task: no thread-pool hop, so a simulator driving the loop on
    // one thread stays deterministic.
    private static TaskCompletionSource NewWake() => new();

    /// <summary>Marks a fault of a task nobody awaits as observed, without throwing.</summary>
    private static void Observe(Task task)
    {
        if (task.IsCompleted) _ = task.Exception;
        else _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
