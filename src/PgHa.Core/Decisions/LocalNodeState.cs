using System.Collections.Immutable;

namespace PgHa.Decisions;

/// <summary>Everything local the decider sees: PostgreSQL as observed this cycle, the agent's memory, and peer answers.</summary>
/// <param name="Postgres">The local PostgreSQL.</param>
/// <param name="Memory">What the agent remembers from earlier cycles.</param>
/// <param name="Peers">Peers' <c>/patroni</c> answers, when gathered this cycle (default = not gathered).</param>
public sealed record LocalNodeState(PostgresStatus Postgres, HaMemory Memory, ImmutableArray<PeerStatus> Peers = default)
{
    /// <summary>True when peer status was gathered this cycle.</summary>
    public bool HasPeerStatus => !Peers.IsDefault;
}
