using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// A peer's answer to <c>GET &lt;api_url&gt;</c> (its <c>/patroni</c> document), gathered in the leader race. An
/// unreachable peer is present with <see cref="Reachable"/> false and is ignored, as Patroni ignores it.
/// </summary>
/// <param name="Name">Member name.</param>
/// <param name="Reachable">False when the request failed or timed out.</param>
public sealed record PeerStatus(string Name, bool Reachable)
{
    /// <summary>Role the peer reported.</summary>
    public MemberRole Role { get; init; }
    /// <summary>The peer's WAL position (primary: location; replica: max(received, replayed)).</summary>
    public long Lsn { get; init; }
    /// <summary>The peer's timeline.</summary>
    public int Timeline { get; init; }
    /// <summary>The peer's tags.</summary>
    public MemberTags Tags { get; init; } = MemberTags.Empty;
    /// <summary>The peer reported <c>watchdog_failed: true</c>.</summary>
    public bool WatchdogFailed { get; init; }

    /// <summary>An unreachable peer.</summary>
    public static PeerStatus Unreachable(string name) => new(name, false);
}
