using System.Collections.Immutable;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Decisions;
using PgHa.Postgres;

namespace PgHa.Simulation;

/// <summary>
/// Replication slots and WAL retention in a run with <see cref="SimulationOptions.Slots"/>: what the simulated
/// PostgreSQL does with the agents' slot plans (create, drop, advance, as <c>PostgresController.SyncReplicationSlotsAsync</c>
/// does), which standbys can stream (<c>primary_slot_name</c> names their member slot, which must exist on the upstream,
/// and the upstream must still have the WAL they need), and the slot invariants.
/// </summary>
/// <remarks>
/// Invariants, each required only once its condition has held for <see cref="Window"/> (a few loop_waits) with the
/// agents involved alive and the DCS healthy for them, because the rules act one HA cycle after the DCS shows a change:
/// (a) the lock holder running as primary has every permanent physical slot; (b) a replica following an upstream that
/// <see cref="Cascading.UpstreamOf"/> names for it (the leader, or a running member it cascades from) finds its member
/// slot there, and the leader has no inactive member slot of a member that left the cluster or streams from another
/// member (Patroni 3.0.2 drops those at once; 4.0's <c>member_slots_ttl</c> is not implemented); (c) the lock holder
/// never drops a permanent slot, a slot an <c>ignore_slots</c> rule matches, or the slot of a member that has been
/// following it by the rules for the window.
/// </remarks>
public sealed class SimSlotModel
{
    /// <summary>Name of the slot an external tool keeps on the primary, protected by <c>ignore_slots</c>.</summary>
    public const string IgnoredSlot = "ext_keep";
    /// <summary>Name of a stray slot someone created by hand on the primary; nothing protects it.</summary>
    public const string StraySlot = "ext_stray";
    /// <summary>How far behind the primary's position the external consumers of permanent and ignored slots confirm.</summary>
    private const long ExternalConsumerLag = 128 * 1024;
    private const int CheckEveryTicks = 5;

    private readonly SimulationRun _run;
    private readonly IReadOnlyList<SimNode> _nodes;
    private readonly Random _random;
    private readonly Dictionary<string, long> _since = new(StringComparer.Ordinal);
    private readonly List<(SimNode Replica, SimNode Upstream)> _streaming = [];
    private readonly Action<string> _fail;
    private int _tick;
    private bool _cascading;

    internal SimSlotModel(SimulationRun run, IReadOnlyList<SimNode> nodes, int seed, Action<string> fail)
    {
        _run = run;
        _nodes = nodes;
        _fail = fail;
        _random = new Random(unchecked(seed * 131 + 29));
        KeepWindow = _random.Next(3) switch { 0 => 256 * 1024, 1 => 1024 * 1024, _ => 4 * 1024 * 1024 };
        Permanent = _random.Next(2) == 0 ? ["perm_a"] : ["perm_a", "perm_b"];
        Ignore = new ReplicationSlotsConfig([], [new IgnoreSlotRule(IgnoredSlot, "physical", null, null)]);
    }

    /// <summary><c>wal_keep_size</c> of every node, in bytes.</summary>
    public long KeepWindow { get; }
    /// <summary>The permanent physical slots of the dynamic configuration.</summary>
    public ImmutableArray<string> Permanent { get; }
    /// <summary>The <c>ignore_slots</c> rules, as the checker reads them.</summary>
    public ReplicationSlotsConfig Ignore { get; }
    /// <summary>How long a condition must hold before a slot invariant is required.</summary>
    public TimeSpan Window => 3 * _run.LoopWait + 2 * _run.RetryTimeout + TimeSpan.FromSeconds(5);
    /// <summary>Invariant checks whose condition held long enough to be required (shows the runs exercise them).</summary>
    public long Checks { get; private set; }
    /// <summary>How often a standby found that its upstream had recycled WAL it needed.</summary>
    public int WalLost { get; private set; }
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dropped = new(StringComparer.Ordinal);

    /// <summary>Adds use_slots, the permanent slots and the ignore rule to the bootstrap configuration.</summary>
    public void Configure(JsonObject raw)
    {
        ((JsonObject)raw["postgresql"]!)["use_slots"] = true;
        var slots = new JsonObject();
        foreach (var p in Permanent) slots[p] = new JsonObject { ["type"] = "physical" };
        raw["slots"] = slots;
        raw["ignore_slots"] = new JsonArray(new JsonObject { ["name"] = IgnoredSlot, ["type"] = "physical" });
    }

    /// <summary>Some nodes cascade: <c>replicatefrom</c> another node (drawn from the model's own random source).</summary>
    public MemberTags TagsFor(int index, int nodes, MemberTags tags)
    {
        // One cascading node at most: two naming each other would both stream from nobody, a configuration error.
        if (nodes < 3 || _cascading || _random.Next(3) != 0) return tags;
        _cascading = true;
        var from = (index + 1 + _random.Next(nodes - 1)) % nodes;
        return new MemberTags(tags.Entries.Add(KeyValuePair.Create("replicatefrom", $"\"node{from + 1}\"")));
    }

    /// <summary>
    /// The slot sync of <paramref name="server"/> (running): drop inactive unknown slots unless protected, create what
    /// is missing at the server's position, advance inactive copies (never backwards, never past the replayed
    /// position). Returns every slot's position.
    /// </summary>
    public IReadOnlyDictionary<string, long> Sync(SimPostgresServer server, ReplicationSlotPlan plan)
    {
        if (!server.Running) return ImmutableDictionary<string, long>.Empty;
        var primary = server.Role == PostgresRole.Primary;
        if (_run.Options.SlotPlanFilter is { } filter) plan = filter(plan, server);
        var wal = server.Wal;
        var wanted = plan.Slots.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var slot in wal.Slots.Values.ToList())
        {
            if (wanted.ContainsKey(slot.Name)) continue;
            if (!plan.DropUnknown || plan.Ignore.IsIgnored(slot.Name, slot.Type, null, null) || slot.Active) continue;
            CheckDrop(server, slot.Name);
            wal.Slots.Remove(slot.Name);
            Restart(server, slot.Name, "follow");
            _run.Record(server.Name, $"slot {slot.Name} dropped");
            _dropped.Add($"{server.Name}:{slot.Name}");
        }
        foreach (var want in plan.Slots)
        {
            if (want.Type != ReplicationSlotType.Physical || !want.Create || wal.Slots.ContainsKey(want.Name)) continue;
            wal.Slots[want.Name] = new SimSlot(want.Name) { Position = server.Lsn };
            Restart(server, want.Name, "gone");
            _run.Record(server.Name, $"slot {want.Name} created at {server.Lsn}");
        }
        if (!primary)
        {
            foreach (var want in plan.Slots)
            {
                if (want.AdvanceTo is not { } target || !wal.Slots.TryGetValue(want.Name, out var slot) || slot.Active) continue;
                var to = Math.Min(target, server.Lsn);
                if (to > slot.Position) slot.Position = to;
            }
        }
        return wal.Slots.Values.Where(s => s.Position > 0).ToImmutableDictionary(s => s.Name, s => s.Position, StringComparer.Ordinal);
    }

    /// <summary>An operator (or extension) creates the ignored slot and a stray one on the current primary now and then.</summary>
    public void OperatorAction(bool always)
    {
        if (!always && _random.Next(4) != 0) return;
        var writer = _nodes.FirstOrDefault(n => n.Server.AcceptsWrites);
        if (writer is null) return;
        foreach (var name in new[] { IgnoredSlot, StraySlot })
        {
            if (writer.Server.Wal.Slots.ContainsKey(name)) continue;
            writer.Server.Wal.Slots[name] = new SimSlot(name) { Position = writer.Server.Lsn };
            _run.Record("OPER", $"created slot {name} on {writer.Name}");
        }
    }

    /// <summary>
    /// True when <paramref name="replica"/> can stream from <paramref name="upstream"/>: its member slot exists there
    /// and the upstream still has the WAL from the replica's position on.
    /// </summary>
    public bool CanStream(SimNode replica, SimNode upstream) =>
        upstream.Server.Wal.Slots.ContainsKey(ReplicationSlotNames.ForMember(replica.Name)) && replica.Server.Lsn >= upstream.Server.Wal.OldestWal;

    /// <summary>Start of a tick: no standby is connected until it streams again.</summary>
    public void BeginTick()
    {
        _streaming.Clear();
        foreach (var n in _nodes) foreach (var s in n.Server.Wal.Slots.Values) s.Active = false;
    }

    /// <summary>Gate of one standby's streaming this tick; false when it cannot stream (counted when WAL is gone).</summary>
    public bool TryStream(SimNode replica, SimNode upstream)
    {
        if (CanStream(replica, upstream))
        {
            upstream.Server.Wal.Slots[ReplicationSlotNames.ForMember(replica.Name)].Active = true;
            _streaming.Add((replica, upstream));
            return true;
        }
        if (replica.Server.Lsn < upstream.Server.Wal.OldestWal && _lost.Add($"{replica.Name}@{upstream.Name}:{replica.Server.Lsn}"))
        {
            WalLost++;
            var why = _dropped.Contains($"{upstream.Name}:{ReplicationSlotNames.ForMember(replica.Name)}")
                ? "its slot there had been dropped before"
                : "its slot there was created past its position";
            _run.Record(replica.Name, $"cannot stream from {upstream.Name}: WAL from {replica.Server.Lsn} was recycled (oldest {upstream.Server.Wal.OldestWal}); {why}");
        }
        return false;
    }

    /// <summary>End of a tick: slots follow their standbys, external consumers confirm, servers recycle WAL; then the checks.</summary>
    public void EndTick()
    {
        // The standby's feedback: what it has flushed, never more than the upstream has (a standby left ahead of its
        // upstream on the old timeline by a switchover reports nothing the upstream could keep for it).
        foreach (var (replica, upstream) in _streaming)
            upstream.Server.Wal.Slots[ReplicationSlotNames.ForMember(replica.Name)].Position = Math.Min(replica.Server.Lsn, upstream.Server.Lsn);
        foreach (var n in _nodes)
        {
            var s = n.Server;
            if (s.AcceptsWrites)
            {
                foreach (var slot in s.Wal.Slots.Values)
                    if (slot.Name == IgnoredSlot || Permanent.Contains(slot.Name))
                        slot.Position = Math.Max(slot.Position, s.Lsn - ExternalConsumerLag);
            }
            if (s.Running) s.Wal.Recycle(s.Lsn, KeepWindow);
        }
        if (++_tick % CheckEveryTicks == 0) Check();
    }

    private void CheckDrop(SimPostgresServer server, string slot)
    {
        if (!server.AcceptsWrites || _run.Store.PeekLeader(SimulationRun.ClusterPrefix)?.Holder != server.Name) return;
        if (Permanent.Contains(slot) && slot != ReplicationSlotNames.ForMember(server.Name))
            _fail($"leader {server.Name} dropped the permanent slot {slot}");
        else if (Ignore.IsIgnored(slot, ReplicationSlotType.Physical, null, null))
            _fail($"leader {server.Name} dropped the slot {slot} that ignore_slots protects");
        // The tracker samples every few ticks: the member must also follow this leader by the rules right now.
        else if (_nodes.FirstOrDefault(n => ReplicationSlotNames.ForMember(n.Name) == slot) is { } member && Held($"follow:{member.Name}:{server.Name}")
                 && Follows(member, ClusterStateReader.Read(_run.Store.ReadAll(SimulationRun.ClusterPrefix))) == _nodes.First(n => n.Server == server))
            _fail($"leader {server.Name} dropped the member slot {slot} of {member.Name}, which has been following it for {Window.TotalSeconds:0} s");
    }

    /// <summary>
    /// The upstream <paramref name="r"/> follows when that is the one <see cref="Cascading.UpstreamOf"/> names for it in
    /// <paramref name="cluster"/>, both agents are alive with a healthy DCS, they can reach each other, and the upstream
    /// runs as the lock holder's primary or as a replica whose member key says running; otherwise null.
    /// </summary>
    private SimNode? Follows(SimNode r, ClusterState cluster)
    {
        if (r.Server is not { Running: true, Role: PostgresRole.Replica, Upstream: { } up } || cluster.Leader is null) return null;
        var u = _nodes.FirstOrDefault(n => n.Name == up);
        var member = cluster.GetMember(r.Name);
        if (u is null || u == r || member is null || !Healthy(r) || !Healthy(u) || !_run.Network.CanReachPeer(r.Index, u.Index)) return null;
        if (Cascading.UpstreamOf(cluster, r.Name, member.Tags) != u.Name) return null;
        var upstreamOk = u.Name == cluster.Leader.Holder
            ? u.Server.AcceptsWrites
            : u.Server is { Running: true, Role: PostgresRole.Replica } && cluster.GetMember(u.Name) is { State: "running" };
        return upstreamOk ? u : null;
    }

    /// <summary>
    /// A server acted on a member slot: the checker samples the cluster every few ticks and may have missed the brief
    /// DCS state the agent acted on (a cascade upstream's PostgreSQL down and up again), so that member's condition of
    /// kind <paramref name="kind"/> on this server starts over.
    /// </summary>
    private void Restart(SimPostgresServer server, string slot, string kind)
    {
        if (_nodes.FirstOrDefault(n => ReplicationSlotNames.ForMember(n.Name) == slot) is { } member)
            _since.Remove(kind == "follow" ? $"follow:{member.Name}:{server.Name}" : $"gone:{member.Name}:{server.Name}");
    }

    private bool Healthy(SimNode n) => n.AgentAnswers && _run.Network.CanReachDcs(n.Index)
        && _run.Network.DcsExtraLatency == TimeSpan.Zero && _run.Network.LostReplyProbability == 0;

    /// <summary>Tracks how long <paramref name="key"/>'s condition has held; true once it held for <see cref="Window"/>.</summary>
    private bool Track(string key, bool condition)
    {
        if (!condition) { _since.Remove(key); return false; }
        var now = _run.Scheduler.NowTicks;
        if (!_since.TryGetValue(key, out var since)) _since[key] = since = now;
        return now - since >= Window.Ticks;
    }

    private bool Held(string key) => _since.TryGetValue(key, out var since) && _run.Scheduler.NowTicks - since >= Window.Ticks;

    private void Check()
    {
        var cluster = ClusterStateReader.Read(_run.Store.ReadAll(SimulationRun.ClusterPrefix));
        var holder = cluster.Leader is null ? null : _nodes.FirstOrDefault(n => n.Name == cluster.Leader.Holder);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        bool Tracked(string key, bool condition) { seen.Add(key); return Track(key, condition); }

        // (a) and the second half of (b): a settled leader.
        var leader = holder is { Server.AcceptsWrites: true } h && Healthy(h) ? h : null;
        if (leader is not null && Tracked($"leader:{leader.Name}", true))
        {
            var slots = leader.Server.Wal.Slots;
            foreach (var p in Permanent)
            {
                if (p == ReplicationSlotNames.ForMember(leader.Name)) continue;
                Checks++;
                if (!slots.ContainsKey(p)) _fail($"leader {leader.Name} has held the lock for {Window.TotalSeconds:0} s without the permanent slot {p}");
            }
            foreach (var x in _nodes)
            {
                if (x == leader) continue;
                var name = ReplicationSlotNames.ForMember(x.Name);
                var member = cluster.GetMember(x.Name);
                var elsewhere = member is not null && Cascading.UpstreamOf(cluster, x.Name, member.Tags) != leader.Name;
                var stale = (member is null || elsewhere) && !(slots.TryGetValue(name, out var s) && s.Active);
                if (!Tracked($"gone:{x.Name}:{leader.Name}", stale)) continue;
                Checks++;
                if (slots.ContainsKey(name))
                    _fail(member is null
                        ? $"leader {leader.Name} keeps the inactive slot {name} of {x.Name}, whose member key has been gone for {Window.TotalSeconds:0} s"
                        : $"leader {leader.Name} keeps the inactive slot {name} of {x.Name}, which has been cascading from {Cascading.UpstreamOf(cluster, x.Name, member.Tags)} for {Window.TotalSeconds:0} s");
            }
        }

        // The first half of (b): a replica following the upstream the rules name finds its member slot there.
        foreach (var r in _nodes)
        {
            if (Follows(r, cluster) is not { } u || !Tracked($"follow:{r.Name}:{u.Name}", true)) continue;
            Checks++;
            if (!u.Server.Wal.Slots.ContainsKey(ReplicationSlotNames.ForMember(r.Name)))
                _fail($"{r.Name} has followed {u.Name} for {Window.TotalSeconds:0} s but {u.Name} has no slot {ReplicationSlotNames.ForMember(r.Name)} for it");
        }

        foreach (var key in _since.Keys.Where(k => !seen.Contains(k)).ToList()) _since.Remove(key);
    }
}
