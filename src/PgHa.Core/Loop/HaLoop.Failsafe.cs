using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Logging;
using PgHa.Postgres;

namespace PgHa.Loop;

/// <summary>
/// Failsafe mode's side effects (the rules are <see cref="FailsafeRules"/>): the leader's confirmation rounds and
/// <c>failsafe</c> key, and a replica's promise to a leader that asked it through <c>POST /failsafe</c>.
/// </summary>
public sealed partial class HaLoop : IFailsafeReceiver
{
    // Set when a DCS write of this cycle found the DCS unreachable, or a confirmation round ran; read once per cycle.
    private bool _dcsFailedInCycle;
    private bool _roundInCycle;

    /// <summary>
    /// Patroni's <c>_handle_dcs_error</c> for a DCS that fails in the middle of a cycle (after the read): in failsafe
    /// mode a leader decides again as if the read had failed — a confirmation round now, instead of one more
    /// retry_timeout spent on the member key and another on the next read, which could use up the lock's guarantee
    /// before any round was tried. True when the DCS failed this cycle (the member key is then not written).
    /// </summary>
    private async Task<bool> AfterDcsFailureAsync(ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        var failed = _dcsFailedInCycle;
        var roundRan = _roundInCycle;
        _dcsFailedInCycle = _roundInCycle = false;
        if (!settings.FailsafeMode || cluster is null) return false;
        if (roundRan) return true;
        if (!failed) return false;
        if (!pg.IsRunningPrimary || Memory.HeldLock is null) return true;
        var plan = HaDecider.Decide(null, new LocalNodeState(pg, Memory), settings, _time.GetUtcNow());
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information)) Log.CycleDecision(_logger, plan.Reason, plan.Describe());
        await ExecuteAsync(plan.Actions, cluster, pg, settings, ct).ConfigureAwait(false);
        _roundInCycle = false;
        return true;
    }

    /// <inheritdoc />
    public FailsafeAnswer AcceptFailsafe(FailsafePing ping)
    {
        ArgumentNullException.ThrowIfNull(ping);
        var settings = Settings;
        if (!settings.FailsafeMode) return FailsafeAnswer.Disabled;
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            // Decided under the same lock as the start of a promotion: either the promise is recorded first and the
            // promotion is held back, or the promotion started first and the leader hears a refusal.
            if (ping.Name == settings.MemberName) return FailsafeAnswer.Refused("the request names this node");
            if (LastCycle?.Postgres.IsRunningPrimary == true) return FailsafeAnswer.Refused("Running as a leader");
            if (_memory.HeldLock is not null) return FailsafeAnswer.Refused("I hold the leader lock");
            if (_memory.Busy?.Kind is BusyActionKind.Promote or BusyActionKind.Demote)
                return FailsafeAnswer.Refused($"{_memory.Busy.Kind.ToString().ToLowerInvariant()} in progress");
            _memory = _memory with { Failsafe = _memory.Failsafe with { Leader = new FailsafeLeader(ping.Name, ping.ConnUrl, ping.ApiUrl, now) } };
        }
        FailsafeLog.Accepted(_logger, ping.Name, now + settings.Ttl);
        return FailsafeAnswer.Accepted;
    }

    /// <summary>
    /// Called with the decision to start a background action: a promotion (or a new primary's bootstrap) is refused
    /// while this node's promise to another failsafe leader holds. Runs under <see cref="_gate"/>.
    /// </summary>
    private bool FailsafeVetoes(BusyActionKind kind, HaMemory memory, DateTimeOffset now)
    {
        if (kind is not (BusyActionKind.Promote or BusyActionKind.Bootstrap)) return false;
        var ttl = Settings.Ttl;
        if (!memory.Failsafe.PromisedTo(now, ttl, out var leader) || leader.Name == _options.Identity.Name) return false;
        FailsafeLog.PromotionHeld(_logger, leader.Name, leader.ReceivedAt + ttl);
        return true;
    }

    /// <summary>Runs a failsafe step: the leader's key write or a confirmation round.</summary>
    private async Task ExecuteFailsafeAsync(HaAction action, ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        switch (action)
        {
            case WriteFailsafe write:
            {
                var value = new FailsafeMembers(write.Members, default);
                var written = await TryDcsAsync("failsafe", c => _dcs.TrySetFailsafeAsync(value, write.Condition, c), ct).ConfigureAwait(false);
                // A rejected CAS changed nothing; anything else may have landed (a lost reply), so it is asked too.
                Remember(m => m with
                {
                    Failsafe = written
                        ? m.Failsafe with { Known = write.Members, Pending = null, PendingBase = null }
                        : m.Failsafe with { Pending = write.Members, PendingBase = cluster?.Failsafe?.Version },
                });
                break;
            }
            case ConfirmFailsafe round:
                await ConfirmFailsafeAsync(round, cluster, pg, settings, ct).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unknown failsafe action {action.Name}");
        }
    }

    private async Task ConfirmFailsafeAsync(ConfirmFailsafe round, ClusterState? cluster, PostgresStatus pg, HaSettings settings, CancellationToken ct)
    {
        _roundInCycle = true;
        // Taken before any request leaves: every member's promise starts at its receipt, which is later.
        var sentAt = _time.GetUtcNow();
        var missing = new List<string>();
        if (round.Members.Count > 0)
        {
            if (_peers is not IFailsafePeerClient client)
                missing.AddRange(round.Members.Keys);
            else
            {
                var ping = new FailsafePing(_options.Identity.Name, _options.Identity.ConnUrl, _options.Identity.ApiUrl);
                var asks = round.Members.Select(async m =>
                    (m.Key, Ok: await client.ConfirmFailsafeAsync(m.Key, m.Value, ping, _options.PeerStatusTimeout, ct).ConfigureAwait(false))).ToArray();
                foreach (var (name, ok) in await Task.WhenAll(asks).ConfigureAwait(false))
                    if (!ok) missing.Add(name);
            }
        }
        if (missing.Count == 0)
        {
            var confirmedUntil = sentAt + settings.Ttl;
            var validUntil = Memory.LockValidUntil is { } lockUntil && lockUntil > confirmedUntil ? lockUntil : confirmedUntil;
            try
            {
                await _pg.SetWriteFenceAsync(validUntil - settings.FenceSafetyMargin, ct).ConfigureAwait(false);
                // A leader running on confirmations keeps its watchdog alive as one running on the lock does (Patroni
                // too); a required watchdog that cannot be kept alive makes the round count as refused.
                if (WatchdogKeptAlive(settings, sentAt))
                {
                    Remember(m => m with { LockValidUntil = validUntil, Failsafe = m.Failsafe with { ConfirmedUntil = confirmedUntil } });
                    FailsafeLog.Confirmed(_logger, round.Members.Count, validUntil - settings.FenceSafetyMargin);
                    await ExecuteAsync(round.OnConfirmed, cluster, pg, settings, ct).ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The old deadline still stands, so stopping in time is still guaranteed; just no extension.
                Log.FenceFailed(_logger, ex.Message);
            }
        }
        else
            FailsafeLog.Refused(_logger, string.Join(", ", missing.Order(StringComparer.Ordinal)));
        Remember(m => m with { Failsafe = m.Failsafe with { ConfirmedUntil = null } });
        await ExecuteAsync(round.OnRefused, cluster, pg, settings, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Members the <c>failsafe</c> key names whose member key is gone: the leader race asks them too (as Patroni does),
    /// since one of them may be a leader running on failsafe confirmations.
    /// </summary>
    private IEnumerable<Member> FailsafeOnlyMembers(ClusterState cluster) =>
        Settings.FailsafeMode && cluster.Failsafe is { } key
            ? key.Members.Where(p => p.Key != _options.Identity.Name && !cluster.HasMember(p.Key)).Select(p => new Member(p.Key) { ApiUrl = p.Value })
            : [];

    /// <summary>Applies a successful read's <c>failsafe</c> key to the memory.</summary>
    private static HaMemory NoteFailsafeRead(HaMemory memory, ClusterState cluster) =>
        memory with { Failsafe = FailsafeRules.AfterRead(memory.Failsafe, cluster) };
}
