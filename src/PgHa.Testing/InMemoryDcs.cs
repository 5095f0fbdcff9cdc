using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Testing;

/// <summary>
/// One node's <see cref="IDcs"/> connection to an <see cref="InMemoryDcsStore"/>, for one cluster
/// (<c>/&lt;namespace&gt;/&lt;scope&gt;/</c>) and one member name. Create one per node over a shared store.
/// </summary>
/// <remarks>
/// <para>Every method completes synchronously (the returned task is already finished), except
/// <see cref="WaitForChangeAsync"/>, so a simulator's event loop never waits on the thread pool.</para>
/// <para>The leader lock and the member key carry their own TTLs, as with etcd v2 per-key TTLs: touching the member
/// does not extend the lock. <see cref="GuaranteedLockValidity"/> is the full ttl, because the store applies an acquire
/// or renewal at the instant it is requested.</para>
/// <para><see cref="Reachable"/> simulates a network partition between this node and the DCS. Disposing the connection
/// leaves its keys to expire, as when a node crashes.</para>
/// </remarks>
public sealed class InMemoryDcs : IDcs
{
    private static readonly Task<bool> CompletedTrue = Task.FromResult(true);
    private static readonly Task<bool> CompletedFalse = Task.FromResult(false);
    private static readonly Task<LeaderLock?> CompletedNoLock = Task.FromResult<LeaderLock?>(null);

    private readonly string[] _wakingKeys;
    private long _seenRevision;
    private volatile bool _reachable = true;
    private volatile bool _disposed;
    private ClusterState? _lastRead;
    private TouchedMember? _lastTouch;

    /// <summary>Connects member <paramref name="memberName"/> of cluster <paramref name="scope"/> to <paramref name="store"/>.</summary>
    /// <param name="store">The shared store.</param>
    /// <param name="namespace">Patroni's <c>namespace</c>, usually <c>service</c>.</param>
    /// <param name="scope">The cluster name.</param>
    /// <param name="memberName">The member this connection acts for.</param>
    public InMemoryDcs(InMemoryDcsStore store, string @namespace, string scope, string memberName)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentException.ThrowIfNullOrEmpty(memberName);
        if (scope.Contains('/', StringComparison.Ordinal)) throw new ArgumentException($"A scope cannot contain '/'; got '{scope}'.", nameof(scope));
        if (memberName.Contains('/', StringComparison.Ordinal)) throw new ArgumentException($"A member name cannot contain '/'; got '{memberName}'.", nameof(memberName));

        Store = store;
        MemberName = memberName;
        Prefix = ClusterKeys.Prefix(@namespace, scope);
        // The keys whose changes alter decisions, per the IDcs.WaitForChangeAsync contract; members and status do not wake.
        _wakingKeys = [Prefix + ClusterKeys.Leader, Prefix + ClusterKeys.Config, Prefix + ClusterKeys.Failover];
        _seenRevision = store.Revision;
    }

    /// <summary>The store this connection talks to.</summary>
    public InMemoryDcsStore Store { get; }

    /// <summary>The cluster prefix, for example <c>/service/batman/</c>: what to pass to <see cref="InMemoryDcsStore.PeekLeader"/>.</summary>
    public string Prefix { get; }

    /// <inheritdoc />
    public string MemberName { get; }

    /// <summary>
    /// False simulates a partition: every call then fails with <see cref="DcsUnavailableException"/> (a cancelled token
    /// still wins, as the contract requires). Takes effect for calls made after it is set.
    /// </summary>
    public bool Reachable
    {
        get => _reachable;
        set => _reachable = value;
    }

    /// <inheritdoc />
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl;

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Refuse<ClusterState>(cancellationToken) is { } refused) return refused;
        var entries = Store.ReadAll(Prefix, out var revision);
        // WaitForChangeAsync wakes for what changed after this read, as an etcd watch started at the read's revision.
        Volatile.Write(ref _seenRevision, revision);
        // Unchanged values are taken from the previous view instead of being parsed again, as a real adapter would.
        var state = ClusterStateReader.Read(entries, Volatile.Read(ref _lastRead));
        Volatile.Write(ref _lastRead, state);
        return Task.FromResult(state);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (Refuse<LeaderLock?>(cancellationToken) is { } refused) return refused;
        return Store.TryAcquireLeader(Prefix, MemberName, ttl) is { } acquired ? Task.FromResult<LeaderLock?>(acquired) : CompletedNoLock;
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(held);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (Refuse<LeaderLock?>(cancellationToken) is { } refused) return refused;
        return Store.TryRenewLeader(Prefix, MemberName, held, ttl) is { } renewed ? Task.FromResult<LeaderLock?>(renewed) : CompletedNoLock;
    }

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        return Store.ReleaseLeader(Prefix, MemberName) ? CompletedTrue : CompletedFalse;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="self"/> is not this connection's member.</exception>
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (!string.Equals(self.Name, MemberName, StringComparison.Ordinal))
            throw new ArgumentException($"This connection acts for member '{MemberName}', not '{self.Name}'.", nameof(self));
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        // A node publishes the same member cycle after cycle; serialize only when it changed.
        var last = Volatile.Read(ref _lastTouch);
        var json = last is not null && last.Member == self ? last.Json : MemberCodec.Serialize(self);
        if (last is null || !ReferenceEquals(last.Json, json)) Volatile.Write(ref _lastTouch, new TouchedMember(self, json));
        Store.TouchMember(Prefix, MemberName, json, ttl);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var name = ClusterKeyNames.Of(key);
        ArgumentNullException.ThrowIfNull(value);
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        return Store.TryWrite(Prefix, name, value, condition) ? CompletedTrue : CompletedFalse;
    }

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var name = ClusterKeyNames.Of(key);
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        return Store.TryDelete(Prefix, name, condition) ? CompletedTrue : CompletedFalse;
    }

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        Store.DeletePrefix(Prefix);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Wakes for changes to <c>leader</c> (including its expiry, at the expiry instant), <c>config</c> and
    /// <c>failover</c> made after this connection's last <see cref="LoadClusterAsync"/> (or its creation), so a change
    /// between a read and the wait is not lost. The timeout runs on the store's <see cref="TimeProvider"/>.
    /// </remarks>
    public Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        if (Refuse<bool>(cancellationToken) is { } refused) return refused;
        return Store.WaitForChangeAsync(_wakingKeys, Volatile.Read(ref _seenRevision), timeout, cancellationToken);
    }

    /// <summary>Closes the connection; later calls throw <see cref="ObjectDisposedException"/>. Keys written through it stay until they expire.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    /// <summary>The task a call must return instead of running: cancelled wins over unreachable, null means go ahead.</summary>
    private Task<T>? Refuse<T>(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<T>(cancellationToken);
        if (!_reachable) return Task.FromException<T>(new DcsUnavailableException($"The in-memory DCS is unreachable from member '{MemberName}' (simulated partition)."));
        return null;
    }

    private sealed record TouchedMember(Member Member, string Json);
}
