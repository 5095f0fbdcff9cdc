using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Loop;

/// <summary>What one HA cycle saw and decided; kept for the REST API and tests.</summary>
/// <param name="At">When the cycle started.</param>
/// <param name="Cluster">The cluster as read (null: the DCS was unreachable).</param>
/// <param name="Postgres">The local PostgreSQL as observed.</param>
/// <param name="Plan">The decision.</param>
public sealed record HaCycleResult(DateTimeOffset At, ClusterState? Cluster, PostgresStatus Postgres, HaPlan Plan);
