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

    /// <summary>
    /// False when <c>watchdog.mode</c> is <c>required</c> and the watchdog cannot be used: the node may not take the
    /// lock (no race, no bootstrap), and a leader steps down (Patroni's <c>watchdog.is_healthy</c>).
    /// </summary>
    public bool WatchdogHealthy { get; init; } = true;

    /// <summary>
    /// When the armed watchdog fires unless it is kept alive again (last keepalive + its timeout); null when it is not
    /// armed. A primary that cannot renew its lock must step down before then, or the machine is reset.
    /// </summary>
    public DateTimeOffset? WatchdogFiresAt { get; init; }
}
