using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>
/// One consistent snapshot of everything under <c>/&lt;namespace&gt;/&lt;scope&gt;/</c>, as the HA engine sees it.
/// Immutable; adapters build it through <see cref="Serialization.ClusterStateReader"/> so every DCS parses the same way.
/// </summary>
public sealed record ClusterState
{
    /// <summary>The <c>initialize</c> key, or null when the cluster was never bootstrapped.</summary>
    public ClusterInitialize? Initialize { get; init; }
    /// <summary>The <c>config</c> key, or null when absent.</summary>
    public GlobalConfig? Config { get; init; }
    /// <summary>The leader lock, or null when the cluster is unlocked.</summary>
    public LeaderLock? Leader { get; init; }
    /// <summary>The <c>status</c> key (leader optime and slots).</summary>
    public ClusterStatus? Status { get; init; }
    /// <summary>Members, sorted by name.</summary>
    public ImmutableArray<Member> Members { get; init; } = ImmutableArray<Member>.Empty;
    /// <summary>The <c>failover</c> key, or null when absent.</summary>
    public FailoverRequest? Failover { get; init; }
    /// <summary>The <c>sync</c> key, or null when absent.</summary>
    public SyncState? Sync { get; init; }
    /// <summary>The <c>history</c> key, or null when absent.</summary>
    public TimelineHistory? History { get; init; }
    /// <summary>The <c>failsafe</c> key, or null when absent.</summary>
    public FailsafeMembers? Failsafe { get; init; }
    /// <summary>Values that could not be understood; reported, otherwise ignored.</summary>
    public ImmutableArray<DcsDataProblem> Problems { get; init; } = ImmutableArray<DcsDataProblem>.Empty;

    /// <summary>A cluster with no keys at all.</summary>
    public static ClusterState Empty { get; } = new();

    /// <summary>True when nobody holds the leader lock.</summary>
    public bool IsUnlocked => Leader is null;

    /// <summary>Name of the lock holder, or null.</summary>
    public string? LeaderName => Leader?.Holder;

    /// <summary>The member with that name, or null.</summary>
    public Member? GetMember(string name)
    {
        foreach (var m in Members)
            if (m.Name == name) return m;
        return null;
    }

    /// <summary>True when a member key with that name exists.</summary>
    public bool HasMember(string name) => GetMember(name) is not null;

    /// <summary>The member record of the lock holder, when both exist.</summary>
    public Member? LeaderMember => Leader is null ? null : GetMember(Leader.Holder);

    /// <summary>The cluster timeline from <c>history</c> (1 with an empty history; 0 = unknown when the key is missing).</summary>
    public int Timeline => History?.CurrentTimeline ?? 0;

    /// <summary>The leader's last reported WAL position, from <c>status</c>.</summary>
    public long LastLeaderLsn => Status?.Optime ?? 0;

    /// <summary>True when a non-empty failover/switchover request is pending.</summary>
    public bool HasFailoverRequest => Failover is { IsEmpty: false };

    /// <summary>True when synchronous mode is configured and the leader has published a sync state.</summary>
    public bool IsSynchronousModeActive => Config is { SynchronousMode: true } && Sync is { Leader: not null };

    /// <summary>Effective dynamic configuration (defaults when the key is missing).</summary>
    public GlobalConfig EffectiveConfig => Config ?? GlobalConfig.Default;

    /// <summary>True when the cluster is in maintenance mode.</summary>
    public bool IsPaused => Config is { Pause: true };

    /// <inheritdoc />
    public bool Equals(ClusterState? other) =>
        other is not null && Equals(Initialize, other.Initialize) && Equals(Config, other.Config) && Equals(Leader, other.Leader)
        && Equals(Status, other.Status) && Members.SequenceEqual(other.Members) && Equals(Failover, other.Failover)
        && Equals(Sync, other.Sync) && Equals(History, other.History) && Equals(Failsafe, other.Failsafe);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Leader, Members.Length, Initialize);
}
