using System.Globalization;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Samples.FileLeaseDcs;

/// <summary>
/// A DCS on a shared directory: each cluster is one JSON state file, changed only under an exclusive lock on a lock
/// file next to it, so every operation is one atomic read-modify-write. The leader lock and member keys carry a lease
/// (an expiry instant); expired keys are removed by whoever touches the file next.
/// </summary>
/// <remarks>
/// <para><b>Contract mapping.</b> A key's version is the revision that last changed it. Compare-and-set and
/// create-only are checked under the file lock. Renewing a lock or touching an unchanged member only moves the expiry.
/// A missing directory (an unmounted share) or a lock not obtained within <see cref="FileLeaseDcsOptions.RequestTimeout"/>
/// is <see cref="DcsUnavailableException"/>.</para>
/// <para><b>Limits.</b> Expiry instants are wall-clock times compared across nodes, so the nodes' clocks must agree within
/// <see cref="FileLeaseDcsOptions.MaxClockSkew"/>, and the share must honour <c>flock</c> across hosts (local disks and
/// NFSv4 do; some SMB setups do not). There is no change notification: waiters poll. A sample of the plugin contract, not
/// a replacement for etcd.</para>
/// </remarks>
public sealed class FileLeaseDcs : IDcs
{
    private static readonly TimeSpan LockRetry = TimeSpan.FromMilliseconds(5);

    private readonly FileLeaseDcsOptions _options;
    private readonly TimeProvider _time;
    private readonly string _clusterDirectory;
    private readonly string _stateFile;
    private readonly string _lockFile;
    private long _seenDecision;
    private bool _disposed;

    /// <summary>Connects member <c>Name</c> of cluster <c>Scope</c> to the shared directory.</summary>
    /// <exception cref="ArgumentException">The options are not valid (the message lists every problem).</exception>
    public FileLeaseDcs(FileLeaseDcsOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException("FileLeaseDcs options are not valid: " + string.Join(" ", problems), nameof(options));
        _options = options;
        _time = timeProvider;
        _clusterDirectory = Path.Combine(options.Directory, options.Namespace, options.Scope);
        _stateFile = Path.Combine(_clusterDirectory, "state.json");
        _lockFile = Path.Combine(_clusterDirectory, ".lock");
    }

    /// <inheritdoc />
    public string MemberName => _options.Name;

    /// <inheritdoc />
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl - _options.MaxClockSkew;

    /// <inheritdoc />
    public async Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken)
    {
        var (entries, decision) = await TransactAsync(state =>
            (state.Keys.Select(k => new DcsEntry(k.Key, k.Value.Value, Version(k.Value.Version))).ToList(), state.DecisionRevision), cancellationToken).ConfigureAwait(false);
        // Waiters wake for changes after this read, like a watch started at the read's revision.
        Interlocked.Exchange(ref _seenDecision, decision);
        return ClusterStateReader.Read(entries);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return TransactAsync(state =>
        {
            if (state.Keys.ContainsKey(ClusterKeys.Leader)) return null;
            var entry = state.Put(ClusterKeys.Leader, MemberName, Expiry(ttl));
            return new LeaderLock(MemberName, Version(entry.Version));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return TransactAsync(state =>
        {
            if (held.Holder != MemberName || !state.Keys.TryGetValue(ClusterKeys.Leader, out var entry)
                || entry.Value != MemberName || Version(entry.Version) != held.Version)
                return null;
            entry.ExpiresMs = Expiry(ttl);
            return held;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) => TransactAsync(state =>
    {
        if (!state.Keys.TryGetValue(ClusterKeys.Leader, out var entry) || entry.Value != MemberName) return false;
        state.Remove(ClusterKeys.Leader);
        return true;
    }, cancellationToken);

    /// <inheritdoc />
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (self.Name != MemberName) throw new ArgumentException($"This connection acts for member '{MemberName}', not '{self.Name}'.", nameof(self));
        var value = MemberCodec.Serialize(self);
        var key = ClusterKeys.Member(MemberName);
        return TransactAsync(state =>
        {
            if (state.Keys.TryGetValue(key, out var entry) && entry.Value == value) entry.ExpiresMs = Expiry(ttl);
            else state.Put(key, value, Expiry(ttl));
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        var name = ClusterKeyNames.Of(key);
        return TransactAsync(state =>
        {
            if (!Holds(state, name, condition)) return false;
            state.Put(name, value, expiresMs: null);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        return TransactAsync(state =>
        {
            if (!state.Keys.ContainsKey(name) || condition.Kind == WriteConditionKind.Absent || !Holds(state, name, condition)) return false;
            state.Remove(name);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) => TransactAsync(state =>
    {
        foreach (var key in state.Keys.Keys.ToList()) state.Remove(key);
        return true;
    }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Polls the state file every <see cref="FileLeaseDcsOptions.PollInterval"/>; an expired leader lock is removed by the poll that sees it.</remarks>
    public async Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        var seen = Interlocked.Read(ref _seenDecision);
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : _time.GetUtcNow() + timeout;
        while (true)
        {
            var decision = await TransactAsync(state => state.DecisionRevision, cancellationToken).ConfigureAwait(false);
            if (decision > seen) return true;
            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero) return false;
            await Task.Delay(left < _options.PollInterval ? left : _options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection; its keys stay until their leases run out, as when a node crashes.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    private static bool Holds(LeaseFileState state, string key, WriteCondition condition) => condition.Kind switch
    {
        WriteConditionKind.Absent => !state.Keys.ContainsKey(key),
        WriteConditionKind.VersionMatches => state.Keys.TryGetValue(key, out var entry) && Version(entry.Version) == condition.Version,
        _ => true,
    };

    private static DcsVersion Version(long revision) => new(revision.ToString(CultureInfo.InvariantCulture));

    private long Expiry(TimeSpan ttl) => _time.GetUtcNow().ToUnixTimeMilliseconds() + (long)ttl.TotalMilliseconds;

    /// <summary>
    /// Runs <paramref name="change"/> on the cluster's state under the directory lock, after removing expired keys, and
    /// writes the state back (atomically, by rename) when its revision moved or a lease was extended.
    /// </summary>
    private async Task<T> TransactAsync<T>(Func<LeaseFileState, T> change, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (!Directory.Exists(_options.Directory))
            throw new DcsUnavailableException($"the shared directory {_options.Directory} does not exist (is it mounted?)");
        using var gate = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var before = File.Exists(_stateFile) ? await File.ReadAllBytesAsync(_stateFile, cancellationToken).ConfigureAwait(false) : [];
            var state = LeaseFileState.Parse(before);
            state.Sweep(_time.GetUtcNow().ToUnixTimeMilliseconds());
            var result = change(state);
            var after = state.Serialize();
            if (!after.AsSpan().SequenceEqual(before))
            {
                var temporary = _stateFile + ".tmp";
                await File.WriteAllBytesAsync(temporary, after, CancellationToken.None).ConfigureAwait(false);
                File.Move(temporary, _stateFile, overwrite: true);
            }
            return result;
        }
        catch (IOException ex)
        {
            throw new DcsUnavailableException($"the shared directory {_clusterDirectory} cannot be used: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DcsUnavailableException($"the shared directory {_clusterDirectory} cannot be used: {ex.Message}", ex);
        }
    }

    // The exclusive lock file (flock on Unix); held for one read-modify-write.
    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.RequestTimeout;
        while (true)
        {
            try
            {
                Directory.CreateDirectory(_clusterDirectory);
                return new FileStream(_lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (_time.GetUtcNow() < deadline)
            {
                // Another node holds the lock for its operation: try again shortly.
            }
            catch (IOException ex)
            {
                throw new DcsUnavailableException($"the lock file {_lockFile} stayed locked for {_options.RequestTimeout.TotalSeconds:0.#} s: {ex.Message}", ex);
            }
            await Task.Delay(LockRetry, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
