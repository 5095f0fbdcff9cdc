using System.Collections.Immutable;
using System.Globalization;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Core.Tests.Decisions;

/// <summary>
/// Test data for the decision tables: a three-node cluster (<see cref="Me"/>, <see cref="Node2"/>, <see cref="Node3"/>)
/// on timeline 2, whose leader last published <see cref="LeaderOptime"/>, seen at a fixed <see cref="Now"/>.
/// </summary>
public static class Given
{
    /// <summary>The node deciding.</summary>
    public const string Me = "node1";
    /// <summary>Second member.</summary>
    public const string Node2 = "node2";
    /// <summary>Third member.</summary>
    public const string Node3 = "node3";
    /// <summary>The cluster's system identifier (in <c>initialize</c> and in every data directory).</summary>
    public const string SystemId = "7301234567890123456";
    /// <summary>A system identifier of some other cluster.</summary>
    public const string ForeignSystemId = "7309999999999999999";
    /// <summary>Timeline the <c>history</c> key describes.</summary>
    public const int ClusterTimeline = 2;
    /// <summary><c>status.optime</c>: the leader's last published WAL position.</summary>
    public const long LeaderOptime = 100L * 1024 * 1024;
    /// <summary>Default <c>maximum_lag_on_failover</c> (1 MiB).</summary>
    public const long MaxLag = 1024 * 1024;
    /// <summary>A replica a little behind the leader, well within <see cref="MaxLag"/>.</summary>
    public const long SlightlyBehind = LeaderOptime - 4096;
    /// <summary>A replica further behind than <see cref="MaxLag"/> allows.</summary>
    public const long FarBehind = LeaderOptime - 2 * MaxLag;

    /// <summary>The fixed clock of every case.</summary>
    public static DateTimeOffset Now { get; } = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Dynamic configuration as a bootstrapped cluster has it: ttl 30, loop_wait 10, retry_timeout 10.</summary>
    public static GlobalConfig Config(bool pause = false) => new()
    {
        Pause = pause,
        Version = new DcsVersion("cfg-1"),
        RawJson = pause
            ? """{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"pause":true}"""
            : """{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576}""",
    };

    /// <summary>This node's settings from <see cref="Config"/>: ttl 30, loop_wait 10, retry_timeout 10.</summary>
    public static HaSettings Settings(MemberTags? tags = null) => HaSettings.From(Config(), Me, tags ?? MemberTags.Empty);

    /// <summary>A <c>history</c> key whose current timeline is <paramref name="timeline"/>.</summary>
    public static TimelineHistory History(int timeline) => new(
        [.. Enumerable.Range(1, timeline - 1).Select(tl => new TimelineHistoryEntry(tl, tl * 16L * 1024 * 1024, "no recovery target specified"))],
        new DcsVersion("hist-1"));

    /// <summary>A bootstrapped cluster led by <paramref name="leader"/> (null: unlocked).</summary>
    public static ClusterState Cluster(string? leader, params Member[] members) => new()
    {
        Initialize = new ClusterInitialize(SystemId, new DcsVersion("init-1")),
        Config = Config(),
        Leader = leader is null ? null : new LeaderLock(leader, new DcsVersion("leader-7")),
        Status = ClusterStatus.FromOptime(LeaderOptime),
        History = History(ClusterTimeline),
        Members = [.. members.OrderBy(m => m.Name, StringComparer.Ordinal)],
    };

    /// <summary>A bootstrapped cluster whose lock <paramref name="leader"/> holds.</summary>
    public static ClusterState LedBy(string leader, params Member[] members) => Cluster(leader, members);

    /// <summary>A bootstrapped cluster whose lock has expired.</summary>
    public static ClusterState Unlocked(params Member[] members) => Cluster(null, members);

    /// <summary>A scope nobody ever bootstrapped: no keys at all.</summary>
    public static ClusterState NeverBootstrapped => ClusterState.Empty;

    /// <summary>A member key as a healthy node publishes it.</summary>
    public static Member Member(string name, MemberRole role = MemberRole.Replica, long? lsn = LeaderOptime,
        string state = "running", MemberTags? tags = null) => new(name)
    {
        ConnUrl = $"postgres://{name}:5432/postgres",
        ApiUrl = $"http://{name}:8008/patroni",
        State = state,
        Role = role,
        XlogLocation = lsn,
        Timeline = ClusterTimeline,
        Tags = tags ?? MemberTags.Empty,
        Version = new DcsVersion("m-" + name),
    };

    /// <summary>The usual members: <see cref="Me"/>, <see cref="Node2"/> and <see cref="Node3"/>, <paramref name="primary"/> as primary.</summary>
    public static Member[] Members(string? primary) =>
        [.. new[] { Me, Node2, Node3 }.Select(n => Member(n, n == primary ? MemberRole.Primary : MemberRole.Replica))];

    /// <summary>A peer's reachable <c>/patroni</c> answer.</summary>
    public static PeerStatus Peer(string name, long lsn = SlightlyBehind, MemberRole role = MemberRole.Replica,
        MemberTags? tags = null, bool watchdogFailed = false) => new(name, true)
    {
        Role = role,
        Lsn = lsn,
        Timeline = ClusterTimeline,
        Tags = tags ?? MemberTags.Empty,
        WatchdogFailed = watchdogFailed,
    };

    /// <summary>A peer that did not answer.</summary>
    public static PeerStatus Unreachable(string name) => PeerStatus.Unreachable(name);

    /// <summary>A decision to make: this node in <paramref name="cluster"/>, PostgreSQL as <paramref name="pg"/>, no peers asked yet.</summary>
    public static Situation Node(PostgresStatus pg, ClusterState? cluster) =>
        new(cluster, new LocalNodeState(pg, HaMemory.Initial), Settings(), Now);
}

/// <summary>PostgreSQL as the controller observes it at the start of a cycle.</summary>
public static class Pg
{
    /// <summary>No data directory yet.</summary>
    public static PostgresStatus EmptyDataDir => PostgresStatus.Uninitialized;

    /// <summary>A data directory without a readable pg_control.</summary>
    public static PostgresStatus UnusableDataDir => new() { DataDirectory = DataDirectoryState.Unusable };

    /// <summary>Running out of recovery.</summary>
    public static PostgresStatus RunningPrimary(long lsn = Given.LeaderOptime, int timeline = Given.ClusterTimeline, string systemId = Given.SystemId) => new()
    {
        DataDirectory = DataDirectoryState.Initialized,
        SystemId = systemId,
        IsRunning = true,
        Role = PostgresRole.Primary,
        Timeline = timeline,
        Lsn = lsn,
    };

    /// <summary>Running in recovery, streaming from <paramref name="following"/> (null: no upstream configured).</summary>
    public static PostgresStatus RunningReplica(string? following, long lsn = Given.LeaderOptime, int timeline = Given.ClusterTimeline, string systemId = Given.SystemId) => new()
    {
        DataDirectory = DataDirectoryState.Initialized,
        SystemId = systemId,
        IsRunning = true,
        Role = PostgresRole.Replica,
        Timeline = timeline,
        Lsn = lsn,
        Upstream = following,
        IsStreaming = following is not null,
    };

    /// <summary>Not running; pg_control says it was a primary (crashed or stopped former primary).</summary>
    public static PostgresStatus StoppedPrimary => RunningPrimary() with { IsRunning = false };

    /// <summary>Not running; pg_control says it was in recovery.</summary>
    public static PostgresStatus StoppedReplica => RunningReplica(null) with { IsRunning = false };
}

/// <summary>Tag sets as a node configures them.</summary>
public static class Tags
{
    /// <summary><c>nofailover: true</c>.</summary>
    public static MemberTags NoFailover => Of(("nofailover", "true"));

    /// <summary><c>clonefrom: true</c>.</summary>
    public static MemberTags CloneFrom => Of(("clonefrom", "true"));

    /// <summary><c>failover_priority: n</c>.</summary>
    public static MemberTags FailoverPriority(int priority) => Of(("failover_priority", priority.ToString(CultureInfo.InvariantCulture)));

    /// <summary><c>replicatefrom: "member"</c>.</summary>
    public static MemberTags ReplicateFrom(string member) => Of(("replicatefrom", $"\"{member}\""));

    /// <summary>Tags from raw JSON values.</summary>
    public static MemberTags Of(params (string Name, string RawJson)[] entries) =>
        new([.. entries.Select(e => new KeyValuePair<string, string>(e.Name, e.RawJson))]);
}

/// <summary>Changes to a cluster snapshot that several tables need.</summary>
public static class ClusterStateChanges
{
    /// <summary>A pending <c>failover</c> key: a switchover when <paramref name="leader"/> is set, a failover otherwise.</summary>
    public static ClusterState WithFailover(this ClusterState cluster, string? leader, string? candidate, DateTimeOffset? scheduledAt = null) =>
        cluster with { Failover = new FailoverRequest(leader, candidate, scheduledAt, new DcsVersion("failover-3")) };

    /// <summary>The cluster with <c>pause: true</c> in its configuration.</summary>
    public static ClusterState Paused(this ClusterState cluster) => cluster with { Config = Given.Config(pause: true) };

    /// <summary>The member <paramref name="name"/> replaced by <paramref name="change"/>'s result.</summary>
    public static ClusterState WithMember(this ClusterState cluster, string name, Func<Member, Member> change) =>
        cluster with { Members = [.. cluster.Members.Select(m => m.Name == name ? change(m) : m)] };
}

/// <summary>
/// Everything one call of <see cref="HaDecider.Decide"/> sees. Immutable; each <c>With…</c> returns a changed copy so
/// a table row reads as "this node, in this cluster, with this twist".
/// </summary>
/// <param name="Cluster">The DCS snapshot (null: DCS not accessible).</param>
/// <param name="Local">Local PostgreSQL, memory and peers.</param>
/// <param name="Settings">Merged settings.</param>
/// <param name="Now">The cycle's clock.</param>
public sealed record Situation(ClusterState? Cluster, LocalNodeState Local, HaSettings Settings, DateTimeOffset Now)
{
    /// <summary>Rendering of a plan that only asks for peers' status.</summary>
    public const string AsksForPeers = "needs-peer-status";

    /// <summary>Runs the decider.</summary>
    public HaPlan Decide() => HaDecider.Decide(Cluster, Local, Settings, Now);

    /// <summary>The plan's shape: <see cref="HaPlan.Describe"/>, or <see cref="AsksForPeers"/> when it asks for peer status.</summary>
    public string Render() => Render(Decide());

    /// <summary>The plan's shape (see <see cref="Render()"/>).</summary>
    public static string Render(HaPlan plan) =>
        plan.NeedsPeerStatus ? (plan.Actions.IsEmpty ? AsksForPeers : AsksForPeers + "+" + plan.Describe()) : plan.Describe();

    /// <summary>Peers' answers gathered this cycle (none given: gathered, but nobody else exists).</summary>
    public Situation WithPeers(params PeerStatus[] peers) => this with { Local = Local with { Peers = [.. peers] } };

    /// <summary>Maintenance mode, both in the <c>config</c> key and in the merged settings.</summary>
    public Situation Paused() => this with { Cluster = Cluster?.Paused(), Settings = Settings with { Pause = true } };

    /// <summary>This node's tags.</summary>
    public Situation WithTags(MemberTags tags) => this with { Settings = Settings with { Tags = tags } };

    /// <summary>Other settings.</summary>
    public Situation With(Func<HaSettings, HaSettings> change) => this with { Settings = change(Settings) };

    /// <summary>Other agent memory.</summary>
    public Situation WithMemory(Func<HaMemory, HaMemory> change) => this with { Local = Local with { Memory = change(Local.Memory) } };

    /// <summary>A background action started <paramref name="ago"/> before <see cref="Now"/>.</summary>
    public Situation Busy(BusyActionKind kind, TimeSpan ago) => WithMemory(m => m with { Busy = new BusyAction(kind, Now - ago) });

    /// <summary>Keeps generated test names short: the case name says what the situation is.</summary>
    public override string ToString() => nameof(Situation);
}
