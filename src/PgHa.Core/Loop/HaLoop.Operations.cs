using System.Collections.Immutable;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Logging;
using PgHa.Operations;
using PgHa.Postgres;

namespace PgHa.Loop;

/// <summary>
/// Operator actions (restart, reinitialize, reload; REST) and dynamic configuration. They run as the loop's background
/// action, so they never overlap a promotion, a clone or each other, and the cycle keeps renewing the lock meanwhile.
/// </summary>
public sealed partial class HaLoop : INodeOperations
{
    private ScheduledRestart? _scheduledRestart;
    private string? _appliedConfigJson;
    private volatile bool _reloadRequested;
    private volatile bool _reapplyParameters;

    private IPostgresAdministration? Admin => _pg as IPostgresAdministration;

    /// <inheritdoc />
    public ScheduledRestart? ScheduledRestart { get { lock (_gate) return _scheduledRestart; } }

    /// <inheritdoc />
    public async Task<OperationResult> RestartAsync(RestartRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Admin is not { } admin) return new(false, "restart is not supported by this node's PostgreSQL control");
        if (RestartMismatch(request) is { } why)
        {
            Log.RestartSkipped(_logger, why);
            return new(false, "restart conditions are not satisfied");
        }
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!StartRestart(admin, done)) return new(false, BusyName(Memory.Busy) + " already in progress");
        Wake();
        try
        {
            var failure = request.Timeout is { } timeout
                ? await done.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false)
                : await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return failure is null ? new(true, "restarted successfully") : new(false, "restart failed");
        }
        catch (TimeoutException)
        {
            return new(false, "postgres is still starting");
        }
    }

    /// <inheritdoc />
    public bool ScheduleRestart(RestartRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Schedule is null) throw new ArgumentException("a scheduled restart needs a time", nameof(request));
        lock (_gate)
        {
            if (_scheduledRestart is not null) return false;
            _scheduledRestart = new ScheduledRestart(request, LastCycle?.Postgres.PostmasterStartTime);
        }
        Wake();
        return true;
    }

    /// <inheritdoc />
    public bool CancelScheduledRestart()
    {
        lock (_gate)
        {
            if (_scheduledRestart is null) return false;
            _scheduledRestart = null;
            return true;
        }
    }

    /// <inheritdoc />
    public async Task<string?> ReinitializeAsync(bool force, CancellationToken cancellationToken)
    {
        if (Admin is not { } admin) return "reinitialize is not supported by this node's PostgreSQL control";
        ClusterState cluster;
        try { cluster = await WithDeadline(c => _dcs.LoadClusterAsync(c), cancellationToken).ConfigureAwait(false); }
        catch (Dcs.DcsUnavailableException ex) { return "DCS is not accessible, can not reinitialize: " + ex.Message; }
        var me = _options.Identity.Name;
        if (cluster.IsUnlocked) return "Cluster has no leader, can not reinitialize";
        if (cluster.Leader!.Holder == me || Memory.HeldLock is not null) return "I am the leader, can not reinitialize";
        // Patroni's clone member: a running replica tagged clonefrom, else the leader.
        var source = cluster.Members.Where(m => m.Name != me && m.Tags.CloneFrom && m.State == "running" && m.ConnUrl is not null)
                         .OrderBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault()
                     ?? cluster.LeaderMember;
        if (source?.ConnUrl is null) return $"the leader {cluster.Leader.Holder} publishes no conn_url, can not reinitialize";
        // force: like Patroni, cancel the running action first (a restart, a clone, a start, a rewind): its data
        // directory is about to be replaced anyway.
        if (force && await CancelBackgroundAsync(cancellationToken).ConfigureAwait(false) is { } busy)
            return busy + " already in progress";
        var settings = Settings;
        var pg = LastCycle?.Postgres ?? PostgresStatus.Uninitialized;
        if (!StartBackground(BusyActionKind.Reinitialize, async c =>
            {
                await BeforeStopAsync(pg.IsRunning, settings, c).ConfigureAwait(false);
                await admin.ReinitializeAsync(source, c).ConfigureAwait(false);
                // on_stop once the old data directory is gone and the clone is in place; the next start reports on_start.
                AfterStop(pg, demoting: false);
            }))
            return BusyName(Memory.Busy) + " already in progress";
        Remember(m => m with { PendingRestart = ImmutableArray<PendingParameter>.Empty });
        Wake();
        return null;
    }

    /// <summary>
    /// Cancels the background action in flight and waits until it has stopped. A promotion or a demotion is never
    /// interrupted (a node half-way between primary and replica is worse than a wait); its name is returned instead.
    /// </summary>
    private async Task<string?> CancelBackgroundAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? cancel;
        Task running;
        lock (_gate)
        {
            if (_memory.Busy is not { } busy) return null;
            if (busy.Kind is BusyActionKind.Promote or BusyActionKind.Demote) return BusyName(busy);
            cancel = _backgroundCancel;
            running = _background;
        }
        // Outside the lock: the action's cancellation callbacks (killing pg_basebackup, pg_ctl, …) run inline.
        cancel?.Cancel();
        await running.WaitAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>The node's current options (see <see cref="Reconfigure"/>).</summary>
    public HaNodeOptions Options => _options;

    /// <summary>
    /// Takes the node's reloadable settings from <paramref name="next"/> — tags and local PostgreSQL parameters — from
    /// the next cycle on (a SIGHUP or <c>POST /reload</c> after the configuration file changed). Everything else needs
    /// a restart of the agent and must be unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">Something other than tags or local parameters differs.</exception>
    public void Reconfigure(HaNodeOptions next)
    {
        ArgumentNullException.ThrowIfNull(next);
        var current = _options;
        if (next with { Tags = current.Tags, LocalPostgresParameters = current.LocalPostgresParameters } != current)
            throw new ArgumentException("only tags and local PostgreSQL parameters can change while the agent runs", nameof(next));
        _options = next;
        if (!SameParameters(current.LocalPostgresParameters, next.LocalPostgresParameters)) _reapplyParameters = true;
        Wake();
    }

    private static bool SameParameters(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.Count == b.Count
                                  && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value));

    /// <inheritdoc />
    public void ReloadPostgres()
    {
        _reloadRequested = true;
        Wake();
    }

    /// <summary>
    /// Runs before each decision: applies a changed <c>config</c> key's parameters, a requested reload, and a scheduled
    /// restart whose time has come. Failures are logged and retried next cycle; they never stop the cycle.
    /// </summary>
    private async Task BeforeDecideAsync(ClusterState? cluster, PostgresStatus pg, CancellationToken ct)
    {
        if (Admin is not { } admin) return;
        var upstream = pg.Upstream is { } name ? cluster?.GetMember(name) : null;
        if (Memory.Busy is null && pg.DataDirectory == DataDirectoryState.Initialized)
        {
            var reload = _reloadRequested;
            _reloadRequested = false;
            var configJson = cluster?.Config is { RawJson.Length: > 2 } fromDcs ? fromDcs.RawJson : null;
            var parametersChanged = _options.LocalPostgresParameters is not null && configJson is not null && (_reapplyParameters || configJson != _appliedConfigJson);
            if (parametersChanged) _reapplyParameters = false;
            if (parametersChanged || reload)
            {
                try
                {
                    IReadOnlyList<PendingParameter> pending;
                    if (parametersChanged)
                    {
                        var ignored = new List<string>();
                        var parameters = DynamicParameters.Merge(_config, _options.LocalPostgresParameters!, ignored);
                        foreach (var i in ignored) Log.ParameterIgnored(_logger, i);
                        pending = await WithDeadline(c => admin.ApplyParametersAsync(parameters, upstream, c), ct).ConfigureAwait(false);
                        _appliedConfigJson = configJson;
                        Log.ParametersApplied(_logger, parameters.Count, pending.Count);
                    }
                    if (reload)
                    {
                        await WithDeadline(c => admin.ReloadAsync(c), ct).ConfigureAwait(false);
                        if (pg.IsRunning) NotifyCallback(CallbackAction.OnReload, CallbackRoleOf(pg));
                    }
                    pending = await WithDeadline(c => admin.GetPendingRestartAsync(c), ct).ConfigureAwait(false);
                    Remember(m => m with { PendingRestart = pending.ToImmutableArray() });
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    if (reload) _reloadRequested = true;
                    if (parametersChanged) _reapplyParameters = true;
                    Log.ActionFailed(_logger, "apply dynamic configuration", ex.Message);
                }
            }
        }
        await RunScheduledRestartAsync(admin, pg).ConfigureAwait(false);
    }

    private Task RunScheduledRestartAsync(IPostgresAdministration admin, PostgresStatus pg)
    {
        ScheduledRestart? due;
        lock (_gate)
        {
            due = _scheduledRestart;
            if (due is null || Memory.Busy is not null) return Task.CompletedTask;
            // A restart since it was scheduled already did what was asked.
            if (due.PostmasterStartTime is { } then && pg.PostmasterStartTime is { } now && now != then)
            {
                _scheduledRestart = null;
                Log.RestartSkipped(_logger, $"postgres restart has already happened at {now:o}");
                return Task.CompletedTask;
            }
            if (_time.GetUtcNow() < due.Request.Schedule) return Task.CompletedTask;
            _scheduledRestart = null;
        }
        if (RestartMismatch(due.Request) is { } why)
        {
            Log.RestartSkipped(_logger, "scheduled restart: " + why);
            return Task.CompletedTask;
        }
        StartRestart(admin, new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously));
        return Task.CompletedTask;
    }

    private bool StartRestart(IPostgresAdministration admin, TaskCompletionSource<Exception?> done) =>
        StartBackground(BusyActionKind.Restart, async c =>
        {
            try
            {
                var cluster = LastCycle?.Cluster;
                var pg = LastCycle?.Postgres ?? PostgresStatus.Uninitialized;
                var upstream = pg.Upstream is { } name ? cluster?.GetMember(name) : null;
                await WhileNotSynchronousStandbyAsync("restart", async x =>
                {
                    await BeforeStopAsync(pg.IsRunning, Settings, x).ConfigureAwait(false);
                    await admin.RestartAsync(upstream, x).ConfigureAwait(false);
                }, c).ConfigureAwait(false);
                NotifyCallback(CallbackAction.OnRestart, CallbackRoleOf(pg));
                var pending = await admin.GetPendingRestartAsync(c).ConfigureAwait(false);
                Remember(m => m with { PendingRestart = pending.ToImmutableArray() });
                done.TrySetResult(null);
            }
            catch (Exception ex)
            {
                done.TrySetResult(ex);
                throw;
            }
        });

    /// <summary>Why <paramref name="request"/>'s conditions do not hold now, or null when they do.</summary>
    private string? RestartMismatch(RestartRequest request)
    {
        var pg = LastCycle?.Postgres ?? PostgresStatus.Uninitialized;
        if (request.Role is { } role)
        {
            var mine = pg.Role == PostgresRole.Primary ? "primary" : "replica";
            if ((role == "master" ? "primary" : role) != mine) return "host role mismatch";
        }
        if (request.PostgresVersionBelow is { } version && version <= pg.ServerVersion) return "postgres version mismatch";
        if (request.RestartPending && Memory.PendingRestart.IsDefaultOrEmpty) return "pending restart flag is not set";
        return null;
    }

    private static string BusyName(BusyAction? busy) => busy?.Kind switch
    {
        BusyActionKind.Bootstrap => "bootstrap",
        BusyActionKind.CreateReplica => "replica creation",
        BusyActionKind.Start => "start",
        BusyActionKind.Promote => "promote",
        BusyActionKind.Demote => "demote",
        BusyActionKind.Rewind => "rewind",
        BusyActionKind.Restart => "restart",
        BusyActionKind.Reinitialize => "reinitialize",
        _ => "another action",
    };
}
