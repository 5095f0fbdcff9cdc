using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>
/// The <c>standby_cluster</c> section of the dynamic configuration (patroni-compat.md §5.13): this whole cluster
/// replicates from a remote primary. Its lock holder is the <c>standby_leader</c>, streaming from
/// <see cref="Host"/>:<see cref="Port"/> (or restoring WAL with <see cref="RestoreCommand"/>); the other members cascade
/// from it; nothing is ever promoted. Removing the section promotes the standby leader.
/// </summary>
public sealed record StandbyClusterConfig
{
    /// <summary><c>host</c>: the remote primary (or any remote member) to stream and clone from.</summary>
    public string? Host { get; init; }
    /// <summary><c>port</c>: its PostgreSQL port (libpq's default 5432 when only the host is given).</summary>
    public int? Port { get; init; }
    /// <summary><c>primary_slot_name</c>: the slot on the remote the standby leader streams through; null: none.</summary>
    public string? PrimarySlotName { get; init; }
    /// <summary><c>create_replica_methods</c>: how the bootstrap winner copies the remote (PgHa: <c>basebackup</c>).</summary>
    public ImmutableArray<string> CreateReplicaMethods { get; init; } = ImmutableArray<string>.Empty;
    /// <summary><c>restore_command</c> written into the standby leader's recovery settings.</summary>
    public string? RestoreCommand { get; init; }
    /// <summary><c>archive_cleanup_command</c> written into the standby leader's recovery settings.</summary>
    public string? ArchiveCleanupCommand { get; init; }
    /// <summary><c>recovery_min_apply_delay</c> (a PostgreSQL time value, e.g. <c>5min</c>) for the standby leader.</summary>
    public string? RecoveryMinApplyDelay { get; init; }

    /// <summary>Patroni's rule: the section counts when any of host, port or restore_command is set.</summary>
    public bool IsActive => Host is not null || Port is not null || RestoreCommand is not null;

    /// <summary>The port to connect to: <see cref="Port"/> or PostgreSQL's default.</summary>
    public int EffectivePort => Port ?? 5432;

    /// <inheritdoc />
    public bool Equals(StandbyClusterConfig? other) =>
        other is not null && Host == other.Host && Port == other.Port && PrimarySlotName == other.PrimarySlotName
        && CreateReplicaMethods.SequenceEqual(other.CreateReplicaMethods) && RestoreCommand == other.RestoreCommand
        && ArchiveCleanupCommand == other.ArchiveCleanupCommand && RecoveryMinApplyDelay == other.RecoveryMinApplyDelay;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Host, Port, PrimarySlotName, RestoreCommand);

    /// <summary>
    /// The upstream a node following this remote records (<c>PostgresStatus.Upstream</c>): it names the endpoint and slot
    /// and carries a fingerprint of the recovery commands, so any change of the section makes the standby leader
    /// reconfigure. Contains spaces, so it never equals a member name PgHa follows.
    /// </summary>
    public string UpstreamName
    {
        get
        {
            // FNV-1a: stable across processes and restarts (string.GetHashCode is randomized per process).
            var hash = 2166136261u;
            foreach (var c in $"{RestoreCommand}\0{ArchiveCleanupCommand}\0{RecoveryMinApplyDelay}")
                hash = (hash ^ c) * 16777619u;
            return $"standby_cluster {Describe()} slot={PrimarySlotName ?? "-"} recovery={hash:x8}";
        }
    }

    /// <summary>Where the standby leader streams from, for logs and reasons.</summary>
    public string Describe() => Host is not null || Port is not null
        ? $"{Host ?? "localhost"}:{EffectivePort}"
        : "the WAL archive (restore_command)";
}
