using System.Collections.Immutable;

namespace PgHa.Decisions;

/// <summary>What the controller observed about the local PostgreSQL at the start of the cycle.</summary>
public sealed record PostgresStatus
{
    /// <summary>State of the data directory.</summary>
    public DataDirectoryState DataDirectory { get; init; }
    /// <summary>System identifier from pg_control, when initialized.</summary>
    public string? SystemId { get; init; }
    /// <summary>True when the postmaster is running and answering.</summary>
    public bool IsRunning { get; init; }
    /// <summary>Role while running, or the role pg_control records when stopped.</summary>
    public PostgresRole Role { get; init; }
    /// <summary>Current timeline (0 = unknown).</summary>
    public int Timeline { get; init; }
    /// <summary>WAL position in bytes: flush LSN on a primary, max(receive, replay) on a replica.</summary>
    public long Lsn { get; init; }
    /// <summary>Member the replica is configured to stream from (null: none or not a replica).</summary>
    public string? Upstream { get; init; }
    /// <summary>True when the replica's WAL receiver is streaming.</summary>
    public bool IsStreaming { get; init; }

    /// <summary>Replica: last WAL position received (null when unknown or not a replica).</summary>
    public long? ReceivedLsn { get; init; }
    /// <summary>Replica: last WAL position replayed (null when unknown or not a replica).</summary>
    public long? ReplayedLsn { get; init; }
    /// <summary>When the postmaster started (REST <c>postmaster_start_time</c>).</summary>
    public DateTimeOffset? PostmasterStartTime { get; init; }
    /// <summary><c>server_version_num</c>, e.g. 150020 (0 when unknown).</summary>
    public int ServerVersion { get; init; }

    /// <summary><c>synchronous_standby_names</c> the running server uses (null when unknown or not running).</summary>
    public string? SynchronousStandbyNames { get; init; }
    /// <summary>
    /// The value PgHa set for <c>synchronous_standby_names</c> (synchronous mode), or null when PgHa does not manage it
    /// and the configured parameters decide.
    /// </summary>
    public string? ManagedSynchronousStandbyNames { get; init; }
    /// <summary>A running primary's <c>pg_stat_replication</c> (empty otherwise).</summary>
    public ImmutableArray<ReplicationConnection> Replication { get; init; } = ImmutableArray<ReplicationConnection>.Empty;

    /// <summary>A node with an empty data directory and nothing running.</summary>
    public static PostgresStatus Uninitialized { get; } = new() { DataDirectory = DataDirectoryState.Empty };

    /// <summary>True when PostgreSQL runs as a primary, i.e. accepts writes.</summary>
    public bool IsRunningPrimary => IsRunning && Role == PostgresRole.Primary;
}
