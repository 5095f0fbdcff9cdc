using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Loop;

/// <summary>Asks a peer for its <c>/patroni</c> status during the leader race.</summary>
public interface IPeerStatusClient
{
    /// <summary>Queries <paramref name="member"/>; an unreachable or slow peer yields <see cref="PeerStatus.Unreachable"/>, never an exception.</summary>
    Task<PeerStatus> GetStatusAsync(Member member, TimeSpan timeout, CancellationToken cancellationToken);
}
