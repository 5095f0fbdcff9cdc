using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Decisions;
using PgHa.Testing;
using PgHa.Watchdog;

namespace PgHa.Simulation;

/// <summary>
/// One seed: N nodes running the real <see cref="Loop.HaLoop"/> against a simulated DCS, network and PostgreSQL, with
/// seeded random faults, and the invariants checked after every event.
/// </summary>
/// <remarks>
/// Invariants: (1) a node accepts writes only while the DCS shows it as the holder of an unexpired lock — which also
/// means never two writers at once (in failsafe mode: or while the lock is free, never while another node holds it); (2) no automatic promotion of a replica further behind the leader's last published
/// optime than maximum_lag_on_failover; (4) in synchronous mode, no promotion loses a write whose commit was
/// acknowledged to a client; (3) after faults stop, exactly one node holds the lock and accepts writes within
/// <see cref="HealBound"/>, and that stays so. A standby cluster (<see cref="SimulationOptions.StandbyCluster"/>) adds
/// (5) no member accepts writes (nor is promoted) while <c>standby_cluster</c> is set; (6) a member other than the lock
/// holder follows the remote primary for no longer than <see cref="RemoteFollowerBound"/> while its agent runs and the
/// DCS works (only the standby leader may; the others cascade from it); (7) after the first heal, within
/// <see cref="HealBound"/>, the lock holder follows the remote and every other member a member, and that stays so until
/// the section is removed; and (2) applies to the promotion out of the standby cluster too.
/// With <see cref="SimulationOptions.Slots"/>, the slot invariants of <see cref="SimSlotModel"/>.
/// </remarks>
public sealed class SimulationRun
{
    private const long WalBytesPerTick = 6_554; // 64 KiB/s of writes on the primary
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private readonly Random _random;
    private readonly Random _prePromoteRandom;
    private readonly List<SimNode> _nodes = [];
    private readonly long _maxLag = 1048576;
    private string? _violation;
    private long _sysids;
    private int _promotions;
    private bool _bootstrapped;
    // Synchronous mode: the newest acknowledged commit (branch, position); every later primary must contain it.
    private (long Branch, long Lsn)? _acked;
    private long? _writingWithoutLockSince;
    private long _writesWithoutLockTicks;
    // Standby cluster: faults of the remote come from a random source of their own, like pre_promote's.
    private readonly Random _standbyRandom;
    private readonly JsonObject _rawConfig;
    private bool _sectionRemoved;
    private string? _lastStandbyHolder;
    private int _standbyLeaderChanges;
    private bool _promotedOutOfStandby;
    private bool _sectionRemovedUnderFaults;
    private readonly Dictionary<string, (string Holder, long Since)> _remoteFollowerSince = [];

    /// <summary>Sets a run up (nothing runs until <see cref="Run"/>).</summary>
    public SimulationRun(int seed, SimulationOptions options)
    {
        Seed = seed;
        Options = options;
        _random = new Random(seed);
        _prePromoteRandom = new Random(unchecked(seed * 7919 + 17));
        _standbyRandom = new Random(unchecked(seed * 104729 + 3));
        if (options.StandbyCluster && (options.SynchronousMode || options.FailsafeMode || options.Slots))
            throw new ArgumentException("a standby cluster run cannot be combined with synchronous or failsafe mode or slots", nameof(options));
        Scheduler = new SimScheduler();
        Network = new SimNetwork(_random, options.Nodes);
        Store = new InMemoryDcsStore(new SimTimeProvider(Scheduler, null));
        Trace = options.Trace ? [] : null;

        // Random valid timing: loop_wait + 2*retry_timeout <= ttl, with room for the fence margin.
        var ttl = _random.Next(5, 31);
        var loopWait = _random.Next(1, Math.Max(2, Math.Min(10, ttl / 3) + 1));
        var retry = _random.Next(1, Math.Max(2, (ttl - loopWait) / 2 + 1));
        Ttl = TimeSpan.FromSeconds(ttl);
        LoopWait = TimeSpan.FromSeconds(loopWait);
        RetryTimeout = TimeSpan.FromSeconds(retry);
        var raw = new JsonObject
        {
            ["ttl"] = ttl, ["loop_wait"] = loopWait, ["retry_timeout"] = retry,
            ["maximum_lag_on_failover"] = options.EngineMaximumLagOverride ?? _maxLag,
            ["postgresql"] = new JsonObject { ["use_pg_rewind"] = true },
        };
        if (options.FailsafeMode) raw["failsafe_mode"] = true;
        SlotModel = options.Slots ? new SimSlotModel(this, _nodes, seed, Fail) : null;
        SlotModel?.Configure(raw);
        if (options.SynchronousMode && !options.EngineIgnoresSynchronousMode)
        {
            raw["synchronous_mode"] = true;
            raw["synchronous_mode_strict"] = options.SynchronousModeStrict;
            // maximum_lag_on_syncnode swaps lagging synchronous standbys; drawn from its own stream so the faults of a
            // seed stay what they were without it.
            raw["maximum_lag_on_syncnode"] = new Random(seed * 31 + 7).Next(3) switch { 0 => -1, 1 => 16 * 1024, _ => 1024 * 1024 };
        }
        if (options.StandbyCluster)
            raw["standby_cluster"] = new JsonObject { ["host"] = "remote.example", ["port"] = 5433, ["primary_slot_name"] = "sim_standby" };
        _rawConfig = raw;
        Config = ConfigCodec.Parse(PatroniJson.Serialize(raw), default, []);
        if (options.StandbyCluster) Remote = new SimRemotePrimary(Scheduler, NewSystemId(), Config.StandbyCluster!);

        for (var i = 0; i < options.Nodes; i++)
        {
            // Some nodes carry tags that change who may win.
            var tags = _random.Next(8) switch
            {
                0 => new MemberTags([KeyValuePair.Create("nofailover", "true")]),
                1 => new MemberTags([KeyValuePair.Create("failover_priority", "2")]),
                _ => MemberTags.Empty,
            };
            if (SlotModel is not null) tags = SlotModel.TagsFor(i, options.Nodes, tags);
            var node = new SimNode(this, i, $"node{i + 1}", tags);
            node.Server.FenceBroken = options.BrokenFence;
            _nodes.Add(node);
        }
        if (options.RequiredWatchdogUnusable)
        {
            var last = _nodes[^1];
            _nodes[^1] = new SimNode(this, last.Index, last.Name, last.Tags)
            {
                Server = { FenceBroken = options.BrokenFence },
                WatchdogDevice = new FakeWatchdogDevice(new SimTimeProvider(Scheduler, null), FakeWatchdogBehaviour.RegularFile),
                WatchdogMode = options.EngineIgnoresWatchdog ? WatchdogMode.Off : WatchdogMode.Required,
            };
        }
        // At least one node must be able to lead.
        if (_nodes.All(n => n.Tags.NoFailover || n.WatchdogDevice is { Behaviour: FakeWatchdogBehaviour.RegularFile }))
            _nodes[0] = new SimNode(this, 0, "node1", MemberTags.Empty) { Server = { FenceBroken = options.BrokenFence } };
    }

    /// <summary>The seed.</summary>
    public int Seed { get; }
    /// <summary>Options.</summary>
    public SimulationOptions Options { get; }
    /// <summary>The event scheduler.</summary>
    public SimScheduler Scheduler { get; }
    /// <summary>The network.</summary>
    public SimNetwork Network { get; }
    /// <summary>The DCS server every node talks to (the shipped in-memory implementation).</summary>
    public InMemoryDcsStore Store { get; }
    /// <summary>The remote primary of a standby cluster run, or null.</summary>
    public SimRemotePrimary? Remote { get; }

    /// <summary>DCS namespace of the simulated cluster.</summary>
    public const string Namespace = "service";

    /// <summary>Scope of the simulated cluster.</summary>
    public const string Scope = "sim";

    private static readonly string Prefix = ClusterKeys.Prefix(Namespace, Scope);
    /// <summary>DCS key prefix of the simulated cluster.</summary>
    internal static string ClusterPrefix => Prefix;
    /// <summary>Replication slots and WAL retention, when <see cref="SimulationOptions.Slots"/> is on.</summary>
    internal SimSlotModel? SlotModel { get; }
    private string? _lastFailoverRequest;
    /// <summary>Dynamic configuration every node bootstraps with.</summary>
    public GlobalConfig Config { get; }
    /// <summary>ttl.</summary>
    public TimeSpan Ttl { get; }
    /// <summary>loop_wait.</summary>
    public TimeSpan LoopWait { get; }
    /// <summary>retry_timeout.</summary>
    public TimeSpan RetryTimeout { get; }
    /// <summary>Trace lines, when tracing.</summary>
    public List<string>? Trace { get; }

    /// <summary>
    /// Bound on the time from "all faults healed" to "exactly one writer holding the lock": requests in flight fail
    /// (retry_timeout), the stale lock expires (ttl), a replica notices (loop_wait), asks peers (2 s) and promotes; a
    /// switchover asked for before the heal completes (loop_wait + retry_timeout); plus the slowest PostgreSQL action
    /// chain (stop, rewind, start: 5 s) and slack for the cycles between them.
    /// </summary>
    public TimeSpan HealBound => Ttl + 3 * LoopWait + 3 * RetryTimeout + TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a member whose agent runs and reaches a working DCS may keep following the remote primary while another
    /// member holds the lock: it reads the new holder within a cycle (or is woken by the change), then repoints, which
    /// may take a rewind and a start; two cycles, two retries and 5 s of PostgreSQL work bound that.
    /// </summary>
    public TimeSpan RemoteFollowerBound => 2 * LoopWait + 2 * RetryTimeout + TimeSpan.FromSeconds(5);

    internal SimPostgresServer? ServerOf(string name) => NodeOf(name)?.Server;

    internal SimNode? NodeOf(string name)
    {
        foreach (var n in _nodes) if (n.Name == name) return n;
        return null;
    }

    internal string NewSystemId() => (7_000_000_000_000_000_000L + Seed * 1000L + ++_sysids).ToString(CultureInfo.InvariantCulture);

    internal void Record(string who, string what)
    {
        if (Trace is null) return;
        Trace.Add($"{(Scheduler.Now - SimScheduler.Epoch).TotalSeconds,9:0.000} {who,-6} {what}");
    }

    internal void OnPromoted(SimPostgresServer server)
    {
        if (_bootstrapped) _promotions++;
        if (Options.PrePromoteFaults && NodeOf(server.Name) is { LastPrePromoteSucceeded: not true } refused)
            Fail($"{refused.Name} was promoted although its last pre_promote did not succeed");
        Record(server.Name, $"promoted to timeline {server.Timeline} at lsn {server.Lsn}");
        if (Remote is not null)
        {
            // The promotion out of the standby cluster is held to the lag bound below against the standby leader's
            // last published position, like any failover.
            if (!_sectionRemoved)
                Fail($"{server.Name} was promoted while the cluster is a standby cluster (standby_cluster is set)");
            else
                _promotedOutOfStandby = true;
        }
        var cluster = ClusterStateReader.Read(Store.ReadAll(Prefix));
        // Only an explicit failover (no leader named) to this very node may lose data by the operator's choice.
        var request = _lastFailoverRequest is { } raw ? FailoverCodec.Parse(raw, default, []) : null;
        var manual = request is { IsSwitchover: false } && request.Candidate == server.Name;
        if (Options.SynchronousMode && _acked is { } acked && !Contains(server, acked.Branch, acked.Lsn))
            Fail($"{server.Name} was promoted at lsn {server.Lsn} without the acknowledged commit at lsn {acked.Lsn} of branch {acked.Branch}: an acknowledged write is lost");
        if (!manual && cluster.Status?.Optime is { } optime && optime - server.Lsn > _maxLag)
            Fail($"{server.Name} was promoted at lsn {server.Lsn}, {optime - server.Lsn} bytes behind the leader's last optime {optime} (maximum_lag_on_failover {_maxLag})");
    }

    internal void AgentCrashed(string name, Exception ex) => Fail($"the HA loop of {name} died: {ex.GetType().Name}: {ex.Message} at {ex.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");

    private void Fail(string violation)
    {
        if (_violation is not null) return;
        _violation = $"t={(Scheduler.Now - SimScheduler.Epoch).TotalSeconds:0.000}s {violation}";
        Record("CHECK", "VIOLATION " + violation);
    }

    private void CheckInvariants()
    {
        // Failsafe mode: time a primary wrote while the lock was free, to show the runs exercise it.
        if (_writingWithoutLockSince is { } since && !(Store.PeekLeader(Prefix) is null && _nodes.Any(n => n.Server.AcceptsWrites)))
        {
            _writesWithoutLockTicks += Scheduler.NowTicks - since;
            _writingWithoutLockSince = null;
        }
        if (Scheduler.DeterminismBreach is { } breach) Fail(breach);
        var leader = Store.PeekLeader(Prefix);
        if (Remote is not null) CheckStandbyCluster(Remote, leader?.Holder);
        SimNode? writer = null;
        foreach (var n in _nodes)
        {
            if (!n.Server.AcceptsWrites) continue;
            if (writer is not null)
                Fail($"two nodes accept writes: {writer.Name} and {n.Name}");
            writer = n;
            // Failsafe mode lets a leader outlive its lock while every member vouches for it, but never once another
            // node has taken the lock: that node may promote at any moment.
            if (leader is null && Options.FailsafeMode) _writingWithoutLockSince ??= Scheduler.NowTicks;
            if (leader is null ? !Options.FailsafeMode : leader.Value.Holder != n.Name)
                Fail($"{n.Name} accepts writes but the DCS lock is {(leader is null ? "free" : "held by " + leader.Value.Holder)}");
        }
        if (Options.RequiredWatchdogUnusable)
        {
            var unusable = _nodes[^1];
            if (unusable.Server.AcceptsWrites) Fail($"{unusable.Name} accepts writes although its required watchdog is unusable");
            if (leader?.Holder == unusable.Name) Fail($"{unusable.Name} holds the leader lock although its required watchdog is unusable");
        }
    }

    /// <summary>The standby cluster's invariants (5) and (6), after every event.</summary>
    private void CheckStandbyCluster(SimRemotePrimary remote, string? holder)
    {
        if (!_sectionRemoved)
        {
            foreach (var n in _nodes)
                if (n.Server.AcceptsWrites) Fail($"{n.Name} accepts writes while the cluster is a standby cluster (standby_cluster is set)");
            if (_bootstrapped && holder is not null && holder != _lastStandbyHolder)
            {
                if (_lastStandbyHolder is not null) _standbyLeaderChanges++;
                _lastStandbyHolder = holder;
            }
        }
        // Another member may follow the remote while the lock is free (the standby cluster is unhealthy), or until it has
        // seen who took the lock; a frozen or dead agent, or one cut from the DCS, cannot see it.
        var dcsWorks = !Network.DcsOutage && Network.DcsExtraLatency == TimeSpan.Zero && Network.LostReplyProbability == 0;
        foreach (var n in _nodes)
        {
            var stray = holder is not null && holder != n.Name && n.Server.Running && n.Server.Upstream == remote.UpstreamName;
            if (!stray || !dcsWorks || !Network.CanReachDcs(n.Index) || !n.AgentAnswers)
            {
                _remoteFollowerSince.Remove(n.Name);
                continue;
            }
            if (!_remoteFollowerSince.TryGetValue(n.Name, out var since) || since.Holder != holder)
            {
                _remoteFollowerSince[n.Name] = (holder!, Scheduler.NowTicks);
                continue;
            }
            if (Scheduler.NowTicks - since.Since > RemoteFollowerBound.Ticks)
                Fail($"{n.Name} follows the remote primary although {holder} holds the leader lock, for {TimeSpan.FromTicks(Scheduler.NowTicks - since.Since).TotalSeconds:0.0} s with its agent running and the DCS working (only the standby leader may)");
        }
    }

    private void OnTick()
    {
        if (Remote is { Server: var remoteServer } && remoteServer.Running) remoteServer.Lsn += WalBytesPerTick;
        SlotModel?.BeginTick();
        foreach (var n in _nodes)
        {
            var s = n.Server;
            if (s.AcceptsWrites) { s.Lsn += WalBytesPerTick; continue; }
            if (!s.Running || s.Role != PostgresRole.Replica || s.Upstream is null) continue;
            SimPostgresServer? up;
            SimNode? upNode = null;
            if (Remote is not null && s.Upstream == Remote.UpstreamName)
                up = Remote.Reachable(n.Index) ? Remote.Server : null;
            else
            {
                upNode = NodeOf(s.Upstream);
                up = upNode is { } node && node.Server.Running && Network.CanReachPeer(n.Index, node.Index) ? node.Server : null;
            }
            if (up is null || !s.IsOnHistoryOf(up)) continue;
            if (SlotModel is not null && upNode is not null && !SlotModel.TryStream(n, upNode)) continue;
            // Synchronous mode: standbys stutter now and then, so an acknowledgement really depends on who confirmed.
            if (Options.SynchronousMode && _random.Next(3) == 0) continue;
            // Streaming follows the upstream across its timeline switch, as PostgreSQL does when it is a child timeline.
            if (s.Branch != up.Branch) s.AdoptHistoryOf(up, s.Lsn);
            if (up.Lsn > s.Lsn) s.Lsn = up.Lsn;
        }
        SlotModel?.EndTick();
        if (Options.SynchronousMode)
        {
            foreach (var n in _nodes)
            {
                if (!n.Server.AcceptsWrites) continue;
                var (_, ack) = SyncChoice(n);
                if (ack > n.Server.AckedLsn)
                {
                    n.Server.AckedLsn = ack;
                    _acked = (n.Server.Branch, ack);
                }
            }
        }
        Scheduler.After(Tick, null, OnTick);
    }

    /// <summary>True when <paramref name="server"/>'s history holds position <paramref name="lsn"/> of <paramref name="branch"/>.</summary>
    private static bool Contains(SimPostgresServer server, long branch, long lsn)
    {
        if (server.Branch == branch) return server.Lsn >= lsn;
        foreach (var (b, _, end) in server.PastBranches)
            if (b == branch) return end >= lsn;
        return false;
    }

    /// <summary>Standbys streaming from <paramref name="primary"/> right now, by name.</summary>
    private List<SimNode> ConnectedStandbys(SimNode primary) => _nodes
        .Where(n => n != primary && n.Server is { Running: true, Role: PostgresRole.Replica } && n.Server.Upstream == primary.Name
                    && Network.CanReachPeer(n.Index, primary.Index) && n.Server.IsOnHistoryOf(primary.Server)
                    && (SlotModel?.CanStream(n, primary) ?? true))
        .OrderBy(n => n.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// PostgreSQL's priority rule for the primary's synchronous_standby_names: the standbys it waits for, and the
    /// position up to which commits are acknowledged (every chosen standby has it; none chosen: the primary's own).
    /// </summary>
    private (List<SimNode> Chosen, long Ack) SyncChoice(SimNode primary)
    {
        var value = primary.Server.SynchronousStandbyNames;
        if (string.IsNullOrWhiteSpace(value)) return ([], primary.Server.Lsn);
        var named = SynchronousStandbyNames.Members(value);
        var open = value.IndexOf('(', StringComparison.Ordinal);
        var need = open > 0 && int.TryParse(value[..open].Trim().Split(' ')[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : 1;
        var connected = ConnectedStandbys(primary);
        var candidates = named.Contains("*") ? connected : [.. named.Select(x => connected.FirstOrDefault(c => c.Name == x)).OfType<SimNode>()];
        var chosen = candidates.Take(need).ToList();
        if (chosen.Count < need) return (chosen, primary.Server.AckedLsn); // commits wait
        return (chosen, Math.Min(primary.Server.Lsn, chosen.Min(c => c.Server.Lsn)));
    }

    /// <summary>The primary's pg_stat_replication.</summary>
    internal ImmutableArray<ReplicationConnection> ReplicationOf(SimPostgresServer server)
    {
        var primary = NodeOf(server.Name)!;
        var (chosen, _) = SyncChoice(primary);
        var named = SynchronousStandbyNames.Members(server.SynchronousStandbyNames);
        return [.. ConnectedStandbys(primary).Select(n => new ReplicationConnection(n.Name, "streaming",
            chosen.Contains(n) ? "sync" : named.Contains(n.Name) || named.Contains("*") ? "potential" : "async", n.Server.Lsn))];
    }

    /// <summary>Runs the seed to completion.</summary>
    public SimulationResult Run()
    {
        Scheduler.AfterEvent = CheckInvariants;
        Record("SIM", $"seed {Seed}: {Options.Nodes} nodes, ttl={Ttl.TotalSeconds} loop_wait={LoopWait.TotalSeconds} retry_timeout={RetryTimeout.TotalSeconds} tags=[{string.Join(", ", _nodes.Select(n => n.Name + ":" + string.Join('/', n.Tags.Entries.Select(e => e.Key))))}]");
        if (SlotModel is { } slotModel)
            Record("SIM", $"slots: permanent [{string.Join(", ", slotModel.Permanent)}], wal_keep {slotModel.KeepWindow} bytes, ignore_slots {SimSlotModel.IgnoredSlot}");
        foreach (var n in _nodes) n.StartAgent();
        Scheduler.After(Tick, null, OnTick);

        // Bootstrap without faults: a cluster whose bootstrap winner dies mid-initdb needs an operator, in Patroni too.
        var deadline = Scheduler.NowTicks + TimeSpan.FromSeconds(60).Ticks;
        while (Scheduler.NowTicks < deadline && _violation is null && !Bootstrapped())
            Scheduler.RunUntil(Scheduler.NowTicks + TimeSpan.FromSeconds(1).Ticks);
        if (!Bootstrapped()) Fail("the cluster did not bootstrap within 60 s");
        _bootstrapped = true;
        SlotModel?.OperatorAction(always: true);

        var cyclesTarget = Options.MinCycles;
        TimeSpan healed;
        if (Remote is null)
        {
            if (Options.Faults) FaultPhase(cyclesTarget * 7 / 10, minRounds: 0, removeSection: false);
            healed = Converge(OneLeader, "no single leader");
        }
        else
        {
            // A standby cluster: faults, heal, one standby leader that stays; then faults again, during which the
            // operator removes standby_cluster (promotion), heal, one writable leader that stays.
            if (Options.Faults) FaultPhase(cyclesTarget * 7 / 20, minRounds: 3, removeSection: false);
            Converge(OneStandbyLeader, "no single standby leader following the remote");
            var calmUntil = Scheduler.NowTicks + (Ttl + LoopWait).Ticks;
            while (_violation is null && Scheduler.NowTicks < calmUntil)
            {
                Scheduler.RunUntil(Scheduler.NowTicks + TimeSpan.FromSeconds(1).Ticks);
                if (!OneStandbyLeader()) Fail($"standby leadership changed after the cluster healed: {Describe()}");
            }
            if (Options.Faults) FaultPhase(cyclesTarget * 7 / 10, minRounds: 3, removeSection: true);
            if (!_sectionRemoved) RemoveStandbySection();
            healed = Converge(OneLeader, "no single leader after standby_cluster was removed");
        }
        var stableUntil = Scheduler.NowTicks + (2 * Ttl + 2 * LoopWait).Ticks;
        while (_violation is null && (Scheduler.NowTicks < stableUntil || TotalCycles() < cyclesTarget))
        {
            Scheduler.RunUntil(Scheduler.NowTicks + TimeSpan.FromSeconds(1).Ticks);
            if (!OneLeader()) Fail($"leadership changed after the cluster healed: {Describe()}");
        }

        if (Scheduler.DeterminismBreach is { } breach) Fail(breach);
        if (_nodes.Sum(n => n.FailedCycles) is var failed and > 0) Fail($"{failed} HA cycles failed with an exception (a bug; replay with --seed to see it)");
        return new SimulationResult(Seed, TotalCycles(), Scheduler.EventsRun, _violation, (IReadOnlyList<string>?)Trace ?? [],
            healed < TimeSpan.Zero ? TimeSpan.Zero : healed, $"ttl={Ttl.TotalSeconds} loop_wait={LoopWait.TotalSeconds} retry_timeout={RetryTimeout.TotalSeconds}",
            _nodes.Sum(n => n.Server.FenceTrips), _promotions)
        {
            PrePromoteRefusals = _nodes.Sum(n => n.PrePromoteRefusals),
            WritesWithoutLock = TimeSpan.FromTicks(_writesWithoutLockTicks),
            StandbyLeaderChanges = _standbyLeaderChanges,
            PromotedOutOfStandby = _promotedOutOfStandby,
            SectionRemovedUnderFaults = _sectionRemovedUnderFaults,
            SlotChecks = SlotModel?.Checks ?? 0,
            WalLost = SlotModel?.WalLost ?? 0,
        };
    }

    /// <summary>Injects faults until the nodes have run <paramref name="untilCycles"/> cycles (and at least <paramref name="minRounds"/> rounds), then heals.</summary>
    private void FaultPhase(long untilCycles, int minRounds, bool removeSection)
    {
        var rounds = 0;
        while (_violation is null && (TotalCycles() < untilCycles || rounds < minRounds))
        {
            rounds++;
            InjectFault();
            if (Options.PrePromoteFaults) InjectPrePromoteRefusal();
            SlotModel?.OperatorAction(always: false);
            if (Remote is not null)
            {
                InjectRemoteFault(Remote);
                // The operator promotes the standby cluster at a random moment of the phase, faults or not.
                if (removeSection && !_sectionRemoved && _standbyRandom.Next(4) == 0)
                {
                    RemoveStandbySection();
                    _sectionRemovedUnderFaults = true;
                }
            }
            Scheduler.RunUntil(Scheduler.NowTicks + RandomSpan(TimeSpan.FromSeconds(0.5), 2 * Ttl).Ticks);
        }
        HealEverything();
    }

    /// <summary>
    /// Convergence: <paramref name="converged"/> within <see cref="HealBound"/>. Work already under way when the faults
    /// stopped (a DCS request whose reply was lost, a switchover the operator asked for) may still change leadership
    /// once: stability is required only after that has settled. Returns how long it took.
    /// </summary>
    private TimeSpan Converge(Func<bool> converged, string failure)
    {
        var healStart = Scheduler.NowTicks;
        var healed = TimeSpan.MinValue;
        var settled = healStart + (RetryTimeout + 2 * LoopWait + TimeSpan.FromSeconds(3)).Ticks;
        var limit = healStart + HealBound.Ticks;
        while (_violation is null && Scheduler.NowTicks < limit)
        {
            Scheduler.RunUntil(Scheduler.NowTicks + TimeSpan.FromMilliseconds(100).Ticks);
            if (converged())
            {
                if (healed == TimeSpan.MinValue) healed = TimeSpan.FromTicks(Scheduler.NowTicks - healStart);
                if (Scheduler.NowTicks >= settled) break;
            }
            else if (Scheduler.NowTicks < settled)
                healed = TimeSpan.MinValue;
        }
        if (_violation is null && healed == TimeSpan.MinValue)
            Fail($"{failure} {HealBound.TotalSeconds:0} s after faults stopped: {Describe()}");
        return healed;
    }

    /// <summary>The operator's <c>patronictl edit-config</c> removing <c>standby_cluster</c>: the standby leader is to promote.</summary>
    private void RemoveStandbySection()
    {
        var raw = (JsonObject)_rawConfig.DeepClone();
        raw.Remove("standby_cluster");
        Store.TryWrite(Prefix, ClusterKeys.Config, PatroniJson.Serialize(raw), Dcs.WriteCondition.Always);
        _sectionRemoved = true;
        Record("FAULT", $"operator removed standby_cluster (standby leader: {Store.PeekLeader(Prefix)?.Holder ?? "none"})");
    }

    private long TotalCycles() => _nodes.Sum(n => n.Cycles);

    private bool Bootstrapped() => Store.PeekLeader(Prefix) is { } l
        && (Remote is null ? NodeOf(l.Holder) is { Server.AcceptsWrites: true } : NodeOf(l.Holder) is { Server.Upstream: var up } && up == Remote.UpstreamName)
        && _nodes.All(n => n.Server is { Initialized: true, Running: true });

    /// <summary>A standby cluster at rest: the lock holder follows the remote, every other member streams from a member, nobody writes.</summary>
    private bool OneStandbyLeader() => Remote is not null && Store.PeekLeader(Prefix) is { } l && _nodes.All(n => n.Server is { Running: true, Role: PostgresRole.Replica }
        && (n.Name == l.Holder ? n.Server.Upstream == Remote.UpstreamName : n.Server.Upstream is { } up && NodeOf(up) is not null));

    private bool OneLeader()
    {
        var writers = _nodes.Where(n => n.Server.AcceptsWrites).ToList();
        return writers.Count == 1 && Store.PeekLeader(Prefix) is { } l && l.Holder == writers[0].Name;
    }

    private string Describe() => string.Join("; ", _nodes.Select(n =>
        $"{n.Name}:{(n.Server.Running ? "up" : "down")}/{n.Server.Role}/tl{n.Server.Timeline}/lsn{n.Server.Lsn}/{(n.Agent is null ? "agent-dead" : "agent-ok")}"
        + (Remote is not null && n.Server.Upstream == Remote.UpstreamName ? "/follows-remote" : n.Server.Upstream is { } up ? "/follows-" + up : "")))
        + $"; lock={(Store.PeekLeader(Prefix)?.Holder ?? "free")}";

    private TimeSpan RandomSpan(TimeSpan min, TimeSpan max) => min + TimeSpan.FromTicks((long)(_random.NextDouble() * Math.Max(0, (max - min).Ticks)));

    private void Later(TimeSpan delay, string what, Action heal) => Scheduler.After(delay, null, () => { heal(); Record("FAULT", "healed: " + what); });

    private void InjectFault()
    {
        var node = _nodes[_random.Next(_nodes.Count)];
        var duration = RandomSpan(TimeSpan.FromSeconds(0.5), 2.5 * Ttl);
        var kind = _random.Next(11);
        string what;
        switch (kind)
        {
            case 0:
                what = $"kill -9 agent of {node.Name} for {duration.TotalSeconds:0.0}s";
                node.KillAgent();
                Later(duration, what, node.StartAgent);
                break;
            case 1:
                what = $"crash node {node.Name} (agent + postgres) for {duration.TotalSeconds:0.0}s";
                node.KillAgent();
                node.CrashPostgres();
                Later(duration, what, node.StartAgent);
                break;
            case 2:
                what = $"kill -9 postmaster of {node.Name}";
                node.CrashPostgres();
                break;
            case 3:
                what = $"partition {node.Name} from the DCS for {duration.TotalSeconds:0.0}s";
                Network.SetDcsCut(node.Index, true);
                Later(duration, what, () => Network.SetDcsCut(node.Index, false));
                break;
            case 4:
            {
                var other = _nodes[(node.Index + 1 + _random.Next(_nodes.Count - 1)) % _nodes.Count];
                what = $"partition {node.Name} from {other.Name} for {duration.TotalSeconds:0.0}s";
                Network.SetPeerCut(node.Index, other.Index, true);
                Later(duration, what, () => Network.SetPeerCut(node.Index, other.Index, false));
                break;
            }
            case 5:
                what = $"DCS outage for {duration.TotalSeconds:0.0}s";
                Network.DcsOutage = true;
                Later(duration, what, () => Network.DcsOutage = false);
                break;
            case 6:
                what = $"SIGSTOP agent of {node.Name} for {duration.TotalSeconds:0.0}s";
                node.StallAgent(duration);
                break;
            case 7:
            {
                var extra = RandomSpan(0.5 * RetryTimeout, 1.5 * RetryTimeout);
                what = $"slow DCS (+{extra.TotalSeconds:0.0}s per message) for {duration.TotalSeconds:0.0}s";
                Network.DcsExtraLatency = extra;
                Later(duration, what, () => Network.DcsExtraLatency = TimeSpan.Zero);
                break;
            }
            case 8:
                what = $"30% of DCS replies lost for {duration.TotalSeconds:0.0}s";
                Network.LostReplyProbability = 0.3;
                Later(duration, what, () => Network.LostReplyProbability = 0);
                break;
            case 9:
            {
                // An operator asks for a switchover through the DCS (patronictl's fallback path).
                var leader = Store.PeekLeader(Prefix)?.Holder;
                var candidate = _random.Next(2) == 0 ? null : _nodes[_random.Next(_nodes.Count)].Name;
                what = $"switchover requested from {leader ?? "-"} to {candidate ?? "any"}";
                if (leader is not null && candidate != leader)
                {
                    _lastFailoverRequest = FailoverCodec.Serialize(new FailoverRequest(leader, candidate, null, default));
                    Store.TryWrite(Prefix, ClusterKeys.Failover, _lastFailoverRequest, Dcs.WriteCondition.Always);
                }
                break;
            }
            default:
                what = $"partition {node.Name} from every peer for {duration.TotalSeconds:0.0}s";
                foreach (var other in _nodes) if (other != node) Network.SetPeerCut(node.Index, other.Index, true);
                Later(duration, what, () => { foreach (var other in _nodes) if (other != node) Network.SetPeerCut(node.Index, other.Index, false); });
                break;
        }
        Record("FAULT", what);
    }

    private void InjectPrePromoteRefusal()
    {
        var node = _nodes[_prePromoteRandom.Next(_nodes.Count)];
        var duration = TimeSpan.FromTicks((long)(_prePromoteRandom.NextDouble() * 2 * Ttl.Ticks)) + TimeSpan.FromSeconds(0.5);
        var what = $"pre_promote of {node.Name} refuses for {duration.TotalSeconds:0.0}s";
        node.PrePromoteRefuses = true;
        Later(duration, what, () => node.PrePromoteRefuses = false);
        Record("FAULT", what);
    }

    /// <summary>Faults of the remote primary, drawn from their own random source so the other faults of a seed stay the same.</summary>
    private void InjectRemoteFault(SimRemotePrimary remote)
    {
        var duration = TimeSpan.FromTicks((long)(_standbyRandom.NextDouble() * 2.5 * Ttl.Ticks)) + TimeSpan.FromSeconds(0.5);
        string what;
        switch (_standbyRandom.Next(6))
        {
            case 0:
                what = $"remote primary unreachable for {duration.TotalSeconds:0.0}s";
                remote.Down = true;
                Later(duration, what, () => remote.Down = false);
                break;
            case 1:
            {
                var node = _nodes[_standbyRandom.Next(_nodes.Count)];
                what = $"partition {node.Name} from the remote primary for {duration.TotalSeconds:0.0}s";
                remote.SetCut(node.Index, true);
                Later(duration, what, () => remote.SetCut(node.Index, false));
                break;
            }
            case 2:
                remote.SwitchTimeline();
                what = $"remote primary switched to timeline {remote.Server.Timeline} at lsn {remote.Server.Lsn}";
                break;
            default:
                return;
        }
        Record("FAULT", what);
    }

    private void HealEverything()
    {
        Network.HealAll();
        Remote?.HealAll();
        foreach (var n in _nodes)
        {
            n.PrePromoteRefuses = false;
            if (n.Actor is { } a)
            {
                a.StalledUntilTicks = 0;
                Scheduler.Resume(a);
            }
            n.StartAgent();
        }
        Record("FAULT", "all faults healed");
    }
}
