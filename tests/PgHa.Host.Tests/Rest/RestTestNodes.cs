using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Loop;

namespace PgHa.Host.Tests.Rest;

/// <summary>Snapshots of a node in the states the health rules distinguish.</summary>
internal static class RestTestNodes
{
    public static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    public const long LeaderOptime = 67108864;

    private static readonly NodeIdentity Identity = new("node1", "postgres://127.0.0.1:5432/postgres", "http://127.0.0.1:8008/patroni");

    public static NodeSnapshot Node(PostgresStatus pg, bool leader, MemberTags? tags = null, bool paused = false, bool unlocked = false)
    {
        var cluster = new ClusterState
        {
            Leader = unlocked ? null : new LeaderLock(leader ? "node1" : "node2", new DcsVersion("5")),
            Status = ClusterStatus.FromOptime(LeaderOptime),
        };
        var memory = HaMemory.Initial with
        {
            HeldLock = leader ? cluster.Leader : null,
            LockValidUntil = leader ? Now.AddSeconds(20) : null,
            LastDcsContact = Now.AddSeconds(-1),
        };
        var settings = new HaSettings { MemberName = "node1", Tags = tags ?? MemberTags.Empty, Pause = paused };
        return new NodeSnapshot("batman", Identity, settings, memory, new HaCycleResult(Now, cluster, pg, HaPlan.NoAction("test")), "3.0.2");
    }

    public static PostgresStatus Primary => new()
    {
        DataDirectory = DataDirectoryState.Initialized, SystemId = "7712269356054531944", IsRunning = true, Role = PostgresRole.Primary,
        Timeline = 1, Lsn = LeaderOptime, ServerVersion = 150020,
        PostmasterStartTime = new DateTimeOffset(2026, 11, 26, 0, 23, 59, 408, TimeSpan.Zero).AddTicks(3260),
    };

    public static PostgresStatus Replica(long lag = 0) => Primary with { Role = PostgresRole.Replica, Lsn = LeaderOptime - lag, ReceivedLsn = LeaderOptime - lag, ReplayedLsn = LeaderOptime - lag, IsStreaming = true };

    public static PostgresStatus Stopped => Primary with { IsRunning = false };

    public static MemberTags Tags(params (string Key, string RawJson)[] tags) =>
        new(tags.Select(t => KeyValuePair.Create(t.Key, t.RawJson)).ToImmutableArray());

    public static IReadOnlyDictionary<string, string> Query(params (string Key, string Value)[] q) => q.ToDictionary(x => x.Key, x => x.Value);
}
