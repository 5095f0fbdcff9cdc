using PgHa.Cluster;

namespace PgHa.Dcs;

/// <summary>
/// One node's connection to the distributed configuration store, scoped to one cluster
/// (<c>/&lt;namespace&gt;/&lt;scope&gt;/</c>) and one member name. This is the whole contract a DCS adapter implements;
/// <c>PgHa.Testing.DcsConformanceTests</c> checks it.
/// </summary>
/// <remarks>
/// <para><b>Error contract.</b> Losing a race or a compare-and-set mismatch is an answer, not a failure: the method
/// returns <c>false</c> (or <c>null</c>). A DCS that cannot be reached, or does not answer before the adapter's
/// request deadline (derived from <c>retry_timeout</c>), throws <see cref="DcsUnavailableException"/> — then the
/// outcome of a write is unknown. Cancellation throws <see cref="OperationCanceledException"/> promptly and is never
/// turned into either of the above.</para>
/// <para><b>TTL carriers.</b> The leader lock and this node's member key are bound to a TTL carrier (etcd lease,
/// ZooKeeper session, Consul session). They vanish at most <c>ttl</c> after the last successful renewal and not before
/// <see cref="GuaranteedLockValidity"/> after the renewal request was sent. Touching the member key may extend the
/// carrier, and so the lock; callers must not rely on the lock expiring while they keep touching their member.</para>
/// <para><b>Atomicity.</b> Each method is one atomic step on the DCS. No method combines keys.</para>
/// </remarks>
public interface IDcs : IAsyncDisposable
{
    /// <summary>The member this connection acts for; the leader lock is taken in this name.</summary>
    string MemberName { get; }

    /// <summary>
    /// How long, measured from the moment an acquire or renew request was sent, the lock is guaranteed to stay with
    /// this node if that request succeeded: <paramref name="ttl"/> for etcd leases, the session TTL for Consul
    /// (which is <c>ttl/2</c>, because Consul may take up to twice the TTL to invalidate), the negotiated session timeout
    /// for ZooKeeper. A primary must stop accepting writes before this runs out.
    /// </summary>
    TimeSpan GuaranteedLockValidity(TimeSpan ttl);

    /// <summary>
    /// Reads every key of the cluster in one consistent read (one revision/index where the DCS offers it).
    /// Values that cannot be parsed are reported in <see cref="ClusterState.Problems"/>, never thrown.
    /// </summary>
    Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Atomically creates the <c>leader</c> key with this member's name, bound to its TTL carrier, if and only if the key
    /// does not exist. Returns the lock on success, null when someone holds it. Of any number of concurrent callers at
    /// most one succeeds.
    /// </summary>
    Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Extends the lock <paramref name="held"/> (as read or acquired earlier) for another <paramref name="ttl"/>. Succeeds
    /// only if the key still holds this member's name and has not been replaced since (same version or carrier);
    /// returns the current lock, or null when the lock is no longer ours.
    /// </summary>
    Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Deletes the <c>leader</c> key if and only if it holds this member's name. False when it does not (nothing changes).</summary>
    Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken);

    /// <summary>Creates or replaces this node's <c>members/&lt;name&gt;</c> key, bound to its TTL carrier, and refreshes the carrier.</summary>
    Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Writes a cluster key under <paramref name="condition"/>; false when the condition does not hold (nothing changes).</summary>
    Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken);

    /// <summary>Deletes a cluster key under <paramref name="condition"/>; false when the condition does not hold or the key is absent.</summary>
    Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken);

    /// <summary>Deletes every key of the cluster (<c>pgha ctl remove</c>).</summary>
    Task DeleteClusterAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits until a key that changes decisions — <c>leader</c> (including its deletion or expiry), <c>config</c> or
    /// <c>failover</c> — changes, or <paramref name="timeout"/> passes. Member and status updates do not wake, so idle
    /// nodes stay idle. Only a wake-up hint: returns true when woken (possibly spuriously), false on timeout; the caller
    /// always re-reads the cluster. Adapters without change notification simply wait.
    /// </summary>
    Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
