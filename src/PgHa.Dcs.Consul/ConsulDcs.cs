using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs.Consul.Client;

namespace PgHa.Dcs.Consul;

/// <summary>
/// One node's <see cref="IDcs"/> connection to a Consul agent, wire-compatible with Patroni's Consul layout: the same
/// keys under <c>&lt;namespace&gt;/&lt;scope&gt;/</c> (no leading slash), the leader value is the bare member name,
/// and the leader and member keys are held by the node's session.
/// </summary>
/// <remarks>
/// <para><b>Creating.</b> <c>new ConsulDcs(options, TimeProvider.System, logger)</c>. The constructor validates the
/// options but does no I/O, so it succeeds while Consul is down. One instance per node, thread-safe. Dispose it on
/// shutdown: its session is not destroyed, its keys go when the session expires, as when the node crashes.</para>
/// <para><b>The contract on Consul.</b></para>
/// <list type="bullet">
/// <item><b>TTL carrier</b> — one session per node, created on first use with TTL = <c>ttl/2</c>, behavior
/// <c>delete</c>, lock-delay 1 ms and no health checks (unless <see cref="ConsulDcsOptions.Checks"/> names some), as
/// Patroni creates it. Consul invalidates an unrenewed session no sooner than its TTL and up to twice it after the last
/// renewal, so keys held by it vanish at most <c>ttl</c> after a renewal and <see cref="GuaranteedLockValidity"/> is
/// <c>ttl/2</c>. Acquire and renew always renew the session first (within the operation); a member touch renews it
/// only when it was confirmed longer than <c>ttl/8</c> (a quarter of the session TTL) before. Renew answering 404 means
/// the session is gone — with every key it held — so a new one is created. A different TTL takes a new session; the
/// old one is left to expire.</item>
/// <item><b>Acquire</b> — <c>PUT leader?acquire=&lt;session&gt;</c> with the member name, then a consistent read of
/// the key for its ModifyIndex (the lock's version). Consul also grants an acquire when the key exists but no session
/// holds it, or this session already does; Patroni acquires the same way.</item>
/// <item><b>Renew</b> — session renewal, then a consistent read: the lock is still ours when the key holds this name
/// at <c>held.Version</c> under this session. If only the session differs (an older session of this node, or a Patroni
/// node of the same name), the key is deleted with <c>cas=&lt;version&gt;</c> and acquired again with this session, as
/// Patroni's <c>update_leader</c> does; another node may win in between, and the renewal then returns null.</item>
/// <item><b>Release</b> — a read, then <c>DELETE leader?cas=&lt;ModifyIndex&gt;</c> if it holds this name.</item>
/// <item><b>Touch member</b> — <c>PUT members/&lt;name&gt;?acquire=&lt;session&gt;</c> when the JSON or the session changed
/// since this node wrote it, or a later read no longer showed it. A key held by another session is deleted first.</item>
/// <item><b>Load</b> — one <c>GET &lt;prefix&gt;?recurse</c> in the configured consistency mode; version =
/// <c>ModifyIndex</c>, session = <c>Session</c>.</item>
/// <item><b>Cluster keys</b> — <see cref="WriteCondition.Always"/>: plain PUT; <see cref="WriteCondition.IfAbsent"/>:
/// <c>cas=0</c>; <see cref="WriteCondition.IfVersion"/>: <c>cas=&lt;ModifyIndex&gt;</c>. Deletes read the key first
/// (Consul answers true for deleting an absent key), then delete with <c>cas</c>. <see cref="DeleteClusterAsync"/> is a
/// recursive delete of the prefix.</item>
/// <item><b>Wait for change</b> — blocking queries of the prefix from the index of the last load; each answer's
/// <c>leader</c>, <c>config</c> and <c>failover</c> indexes are compared with that load's, so member and status writes
/// do not wake. A failed query is retried after a pause until the timeout; the wait never throws
/// <see cref="DcsUnavailableException"/>.</item>
/// </list>
/// <para><b>Errors.</b> Every operation runs under one deadline, <see cref="ConsulDcsOptions.RequestTimeout"/> or the
/// caller's token, whichever ends first. Reads and session renewals are retried until then while Consul is
/// unreachable; writes are sent once. A failed or timed-out request, or an error answer, throws
/// <see cref="DcsUnavailableException"/>; a lost race or compare-and-set mismatch returns false/null.</para>
/// </remarks>
public sealed partial class ConsulDcs : IDcs
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WatchRetryDelay = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConsulClient _client;
    private readonly ConsulServiceRegistrar? _service;
    private readonly TimeSpan _requestTimeout;
    private readonly string _prefix;
    private readonly string _leaderKey;
    private readonly string _memberKey;
    private readonly byte[] _memberValue;
    private readonly string _sessionName;
    private readonly IReadOnlyList<string> _checks;
    private readonly TimeSpan _lockDelay;

    private readonly SemaphoreSlim _sessionGate = new(1, 1);
    private string? _session;          // guarded by _sessionGate
    private TimeSpan _sessionTtl;      // the TTL _session was created with
    private long _sessionConfirmedAt;  // _time timestamp of sending the create or renew that last confirmed _session

    private LoadedIndexes? _lastLoad;
    private ClusterState? _lastRead;
    private PublishedMember? _published;
    private volatile bool _disposed;

    /// <summary>Creates the connection of member <see cref="ConsulDcsOptions.Name"/> to the cluster <see cref="ConsulDcsOptions.Scope"/>. No I/O happens here.</summary>
    /// <param name="options">The settings; copied, later changes have no effect.</param>
    /// <param name="timeProvider">The clock for request deadlines, retry pauses and wait timeouts.</param>
    /// <param name="logger">Where the adapter logs (see <see cref="ConsulDcsEventId"/>); none when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> do not validate; the message lists every problem.</exception>
    public ConsulDcs(ConsulDcsOptions options, TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid Consul DCS options: " + string.Join(" ", problems), nameof(options));
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        MemberName = options.Name;
        _requestTimeout = options.RequestTimeout;
        // Patroni's Consul keys are its etcd paths without the leading slash.
        _prefix = ClusterKeys.Prefix(options.Namespace, options.Scope)[1..];
        _leaderKey = _prefix + ClusterKeys.Leader;
        _memberKey = _prefix + ClusterKeys.Member(MemberName);
        _memberValue = Encoding.UTF8.GetBytes(MemberName);
        _sessionName = $"{options.Scope}-{options.Name}";
        _checks = [.. options.Checks];
        _lockDelay = options.LockDelay;
        _client = new ConsulClient(options.ClientOptions());
        if (options.RegisterService) _service = new ConsulServiceRegistrar(_client, options, _logger);
        Log.Created(_logger, MemberName, _prefix, _client.Address);
    }

    /// <inheritdoc />
    public string MemberName { get; }

    /// <summary>The cluster prefix, for example <c>service/batman/</c>.</summary>
    public string Prefix => _prefix;

    /// <inheritdoc />
    /// <remarks><c>ttl/2</c>: the session TTL. Consul does not invalidate a session sooner than its TTL after a renewal (and may wait twice as long).</remarks>
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl / 2;

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("read the cluster", async ct =>
        {
            var result = await RetryWhileUnavailableAsync(c => _client.ListAsync(_prefix, null, 0, null, c), ct).ConfigureAwait(false);
            return Loaded(result.Value, result.Index);
        }, cancellationToken);

    private ClusterState Loaded(IReadOnlyList<ConsulKvPair> pairs, ulong index)
    {
        var entries = new List<DcsEntry>(pairs.Count);
        foreach (var pair in pairs)
        {
            // A recursive read also lists the prefix itself if someone stored it as a key.
            if (pair.Key.Length <= _prefix.Length) continue;
            entries.Add(new DcsEntry(pair.Key[_prefix.Length..], Encoding.UTF8.GetString(pair.Value), Version(pair.ModifyIndex), pair.Session));
        }
        var state = ClusterStateReader.Read(entries, Volatile.Read(ref _lastRead));
        Volatile.Write(ref _lastRead, state);
        Volatile.Write(ref _lastLoad, new LoadedIndexes(index, DecisionIndexes.Of(pairs, _prefix)));
        ForgetPublishedMemberIfGone(pairs);
        return state;
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return RunAsync("acquire the leader lock", async ct =>
        {
            var session = await EnsureSessionAsync(ttl, alwaysRenew: true, ct).ConfigureAwait(false);
            var acquired = await AcquireWithSessionAsync(_leaderKey, _memberValue, session, ttl, ct).ConfigureAwait(false);
            if (acquired is null) return null;
            return await ReadOwnLockAsync(acquired, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return RunAsync("renew the leader lock", async ct =>
        {
            // Another member's lock, or a version that is no Consul index, can never be ours.
            if (!string.Equals(held.Holder, MemberName, StringComparison.Ordinal)) return null;
            if (!TryParseIndex(held.Version, ClusterKeys.Leader, out var version)) return null;
            var session = await EnsureSessionAsync(ttl, alwaysRenew: true, ct).ConfigureAwait(false);
            var current = (await RetryWhileUnavailableAsync(c => _client.GetAsync(_leaderKey, ConsulConsistency.Consistent, c), ct).ConfigureAwait(false)).Value;
            if (current is null || current.ModifyIndex != version || !current.Value.AsSpan().SequenceEqual(_memberValue)) return null;
            if (current.Session == session) return new LeaderLock(MemberName, held.Version, session);

            // Our name at the same index, held by another session: re-acquire with ours (Patroni's update_leader).
            if (!await _client.DeleteAsync(_leaderKey, version, recurse: false, ct).ConfigureAwait(false)) return null;
            var acquired = await AcquireWithSessionAsync(_leaderKey, _memberValue, session, ttl, ct).ConfigureAwait(false);
            if (acquired is null) return null;
            Log.LeaderKeyRebound(_logger, MemberName, current.Session ?? "(none)", acquired);
            return await ReadOwnLockAsync(acquired, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) =>
        RunAsync("release the leader lock", async ct =>
        {
            var current = (await RetryWhileUnavailableAsync(c => _client.GetAsync(_leaderKey, ConsulConsistency.Consistent, c), ct).ConfigureAwait(false)).Value;
            if (current is null || !current.Value.AsSpan().SequenceEqual(_memberValue)) return false;
            return await _client.DeleteAsync(_leaderKey, current.ModifyIndex, recurse: false, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="self"/> is not this connection's member.</exception>
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (!string.Equals(self.Name, MemberName, StringComparison.Ordinal))
            throw new ArgumentException($"This connection acts for member '{MemberName}', not '{self.Name}'.", nameof(self));
        return RunAsync("publish the member key", async ct =>
        {
            var session = await EnsureSessionAsync(ttl, alwaysRenew: false, ct).ConfigureAwait(false);
            if (_service is not null) await _service.UpdateAsync(self, ttl, ct).ConfigureAwait(false);
            // A node publishes the same member cycle after cycle: serialize and write only what changed.
            var published = Volatile.Read(ref _published);
            var json = published is not null && published.Member == self ? published.Json : MemberCodec.Serialize(self);
            if (published is not null && published.Session == session && string.Equals(published.Json, json, StringComparison.Ordinal))
                return true;
            var value = Encoding.UTF8.GetBytes(json);
            var written = await AcquireWithSessionAsync(_memberKey, value, session, ttl, ct).ConfigureAwait(false);
            if (written is null)
            {
                // Held by another session (an older one of ours, or a Patroni node of the same name): take it over as
                // Patroni does, by deleting it first.
                await _client.DeleteAsync(_memberKey, cas: null, recurse: false, ct).ConfigureAwait(false);
                written = await AcquireWithSessionAsync(_memberKey, value, session, ttl, ct).ConfigureAwait(false);
            }
            if (written is null)
            {
                Log.MemberKeyHeldElsewhere(_logger, _memberKey);
                Volatile.Write(ref _published, null);
                return true;
            }
            Volatile.Write(ref _published, new PublishedMember(self, json, written));
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        ArgumentNullException.ThrowIfNull(value);
        return RunAsync($"write {name} ({condition})", async ct =>
        {
            ulong? cas = null;
            if (condition.Kind == WriteConditionKind.Absent) cas = 0;
            else if (condition.Kind == WriteConditionKind.VersionMatches)
            {
                if (!TryParseIndex(condition.Version, name, out var index)) return false;
                cas = index;
            }
            return await _client.PutAsync(_prefix + name, Encoding.UTF8.GetBytes(value), cas, null, null, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        return RunAsync($"delete {name} ({condition})", async ct =>
        {
            // "Must be absent" never holds for a key being deleted; a foreign version token never matches.
            if (condition.Kind == WriteConditionKind.Absent) return false;
            ulong? expected = null;
            if (condition.Kind == WriteConditionKind.VersionMatches)
            {
                if (!TryParseIndex(condition.Version, name, out var index)) return false;
                expected = index;
            }
            // Consul answers true for deleting a key that is not there, with or without cas: read first.
            var current = (await RetryWhileUnavailableAsync(c => _client.GetAsync(_prefix + name, ConsulConsistency.Consistent, c), ct).ConfigureAwait(false)).Value;
            if (current is null) return false;
            if (expected is { } e && current.ModifyIndex != e) return false;
            return await _client.DeleteAsync(_prefix + name, current.ModifyIndex, recurse: false, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("delete the cluster", async ct =>
        {
            await _client.DeleteAsync(_prefix, cas: null, recurse: true, ct).ConfigureAwait(false);
            Volatile.Write(ref _published, null);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Blocking queries of the whole prefix, starting at the index of the last <see cref="LoadClusterAsync"/> (so a
    /// change between that load and this wait answers at once); before any load, the first query only learns the
    /// current state. Wakes when <c>leader</c>, <c>config</c> or <c>failover</c> differs from the last load. While
    /// Consul is unreachable the query is retried every second; the wait never throws
    /// <see cref="DcsUnavailableException"/>.
    /// </remarks>
    public async Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        cancellationToken.ThrowIfCancellationRequested();
        var started = _time.GetTimestamp();
        TimeSpan Left() => timeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromMinutes(5) : timeout - _time.GetElapsedTime(started);

        var baseline = Volatile.Read(ref _lastLoad);
        var index = baseline?.Index ?? 0;
        while (true)
        {
            var left = Left();
            if (left <= TimeSpan.Zero) return false;
            using var bound = new CancellationTokenSource(left, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
            try
            {
                // Consul may add up to wait/16 to the wait; ask for a little less than what is left so the answer
                // comes before this wait's own deadline cancels the request.
                var wait = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, left.Ticks * 15 / 16 - TimeSpan.FromSeconds(1).Ticks));
                var result = await _client.ListAsync(_prefix, null, index, wait, linked.Token).ConfigureAwait(false);
                var now = DecisionIndexes.Of(result.Value, _prefix);
                if (baseline is null) baseline = new LoadedIndexes(result.Index, now);
                else if (now != baseline.Decisions) return true;
                index = ConsulClient.NextBlockingIndex(index, result.Index);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The wait for a DCS change was cancelled.", cancellationToken);
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex) when (IsTransportFailure(ex))
            {
                var pause = WatchRetryDelay < Left() ? WatchRetryDelay : Left();
                Log.WatchFailed(_logger, _client.Address, Describe(ex), pause);
                if (pause <= TimeSpan.Zero) return false;
                await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Closes the HTTP connections; later calls throw <see cref="ObjectDisposedException"/>. The session is not destroyed: its keys expire with it.</summary>
    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Session

    /// <summary>
    /// The session to write with: renewed — always when <paramref name="alwaysRenew"/>, else only when it was
    /// confirmed longer than a quarter of its TTL ago — or created when there is none, it is gone, or the TTL changed.
    /// </summary>
    private async Task<string> EnsureSessionAsync(TimeSpan ttl, bool alwaysRenew, CancellationToken cancellationToken)
    {
        var sessionTtl = ttl / 2;
        await _sessionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is { } current)
            {
                if (_sessionTtl == sessionTtl)
                {
                    if (!alwaysRenew && _time.GetElapsedTime(_sessionConfirmedAt) < sessionTtl / 4) return current;
                    var sent = _time.GetTimestamp();
                    if (await RetryWhileUnavailableAsync(c => _client.RenewSessionAsync(current, c), cancellationToken).ConfigureAwait(false))
                    {
                        _sessionConfirmedAt = sent;
                        return current;
                    }
                    Log.SessionLost(_logger, current, MemberName);
                }
                else
                    Log.SessionTtlChanged(_logger, MemberName, ConsulClient.FormatDuration(sessionTtl), current);
                _session = null;
            }
            return await CreateSessionAsync(sessionTtl, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sessionGate.Release();
        }
    }

    /// <summary>Creates a session (under <see cref="_sessionGate"/>). An extra session from a retried create is harmless: it holds nothing and expires.</summary>
    private async Task<string> CreateSessionAsync(TimeSpan sessionTtl, CancellationToken cancellationToken)
    {
        var request = new ConsulSessionRequest(_sessionName, sessionTtl, _lockDelay, ConsulSessionBehavior.Delete, _checks);
        long sent = 0;
        string id;
        try
        {
            id = await RetryWhileUnavailableAsync(c =>
            {
                sent = _time.GetTimestamp();
                return _client.CreateSessionAsync(request, c);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConsulApiException ex) when (ex.IsInvalidSessionTtl)
        {
            throw new ConsulApiException(
                $"Consul refused a session TTL of {ConsulClient.FormatDuration(sessionTtl)} (ttl/2): {ex.Body.Trim()}. Consul's session_ttl_min is 10 s by default, so ttl must be at least 20 s.", ex);
        }
        _session = id;
        _sessionTtl = sessionTtl;
        _sessionConfirmedAt = sent;
        Log.SessionCreated(_logger, id, ConsulClient.FormatDuration(sessionTtl), MemberName);
        return id;
    }

    /// <summary>
    /// <c>PUT key?acquire=session</c>; returns the session that holds the key afterwards, or null when another session
    /// holds it. A session Consul no longer knows ("invalid session") is replaced once and the acquire repeated.
    /// </summary>
    private async Task<string?> AcquireWithSessionAsync(string key, byte[] value, string session, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.PutAsync(key, value, null, session, null, cancellationToken).ConfigureAwait(false) ? session : null;
        }
        catch (ConsulApiException ex) when (ex.IsInvalidSession)
        {
            await _sessionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_session == session)
                {
                    Log.SessionLost(_logger, session, MemberName);
                    _session = null;
                }
            }
            finally
            {
                _sessionGate.Release();
            }
            var fresh = await EnsureSessionAsync(ttl, alwaysRenew: false, cancellationToken).ConfigureAwait(false);
            return await _client.PutAsync(key, value, null, fresh, null, cancellationToken).ConfigureAwait(false) ? fresh : null;
        }
    }

    /// <summary>The lock just acquired with <paramref name="session"/>, with its index, read back consistently; null if it is no longer ours.</summary>
    private async Task<LeaderLock?> ReadOwnLockAsync(string session, CancellationToken cancellationToken)
    {
        var current = (await RetryWhileUnavailableAsync(c => _client.GetAsync(_leaderKey, ConsulConsistency.Consistent, c), cancellationToken).ConfigureAwait(false)).Value;
        if (current is null || current.Session != session || !current.Value.AsSpan().SequenceEqual(_memberValue)) return null;
        return new LeaderLock(MemberName, Version(current.ModifyIndex), session);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Member bookkeeping

    private sealed record PublishedMember(Member Member, string Json, string Session);

    /// <summary>A read that no longer shows our member as written (deleted, another session, other content) makes the next touch write again.</summary>
    private void ForgetPublishedMemberIfGone(IReadOnlyList<ConsulKvPair> pairs)
    {
        var published = Volatile.Read(ref _published);
        if (published is null) return;
        var seen = pairs.FirstOrDefault(p => p.Key == _memberKey);
        if (seen is not null && seen.Session == published.Session && Encoding.UTF8.GetString(seen.Value) == published.Json) return;
        Interlocked.CompareExchange(ref _published, null, published);
    }

    /// <summary>The indexes of the keys that wake a waiting node, and the X-Consul-Index of a read.</summary>
    private sealed record LoadedIndexes(ulong Index, DecisionIndexes Decisions);

    /// <summary>ModifyIndex of <c>leader</c>, <c>config</c> and <c>failover</c> (0 when absent).</summary>
    private readonly record struct DecisionIndexes(ulong Leader, ulong Config, ulong Failover)
    {
        public static DecisionIndexes Of(IReadOnlyList<ConsulKvPair> pairs, string prefix)
        {
            ulong leader = 0, config = 0, failover = 0;
            foreach (var pair in pairs)
            {
                if (pair.Key.Length <= prefix.Length) continue;
                switch (pair.Key.AsSpan(prefix.Length))
                {
                    case ClusterKeys.Leader: leader = pair.ModifyIndex; break;
                    case ClusterKeys.Config: config = pair.ModifyIndex; break;
                    case ClusterKeys.Failover: failover = pair.ModifyIndex; break;
                    default: break;
                }
            }
            return new DecisionIndexes(leader, config, failover);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Requests and errors

    /// <summary>Runs one operation under the request deadline and translates failures into the <see cref="IDcs"/> error contract.</summary>
    private async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        using var deadline = new CancellationTokenSource(_requestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await body(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && IsTransportFailure(ex))
        {
            if (ex is OperationCanceledException oce && oce.CancellationToken == cancellationToken) throw;
            throw new OperationCanceledException($"Cancelled while trying to {operation}.", ex, cancellationToken);
        }
        catch (Exception ex) when (deadline.IsCancellationRequested && IsTransportFailure(ex))
        {
            var message = $"Consul at {_client.Address} did not answer within {_requestTimeout.TotalSeconds:0.###} s while trying to {operation} (member {MemberName}, {_prefix}).";
            Log.RequestFailed(_logger, _client.Address, operation, message);
            throw new DcsUnavailableException(message, ex);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            var error = Describe(ex);
            Log.RequestFailed(_logger, _client.Address, operation, error);
            throw new DcsUnavailableException($"Consul at {_client.Address} failed while trying to {operation} (member {MemberName}, {_prefix}): {error}", ex);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            throw new ObjectDisposedException(nameof(ConsulDcs), $"The Consul DCS connection of member {MemberName} was disposed while trying to {operation}.");
        }
    }

    /// <summary>Retries an idempotent request (read, session renew or create) while Consul is unreachable or answers 5xx, until the token ends it.</summary>
    private async Task<T> RetryWhileUnavailableAsync<T>(Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await request(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsRetryable(ex))
            {
                Log.RequestFailed(_logger, _client.Address, "answer (retrying)", Describe(ex));
            }
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    // A 500 that is about a session or a TTL is an answer, not an outage.
    private static bool IsRetryable(Exception ex) => ex switch
    {
        ConsulApiException api => api.StatusCode is >= 500 and not 501 && !api.IsInvalidSession && !api.IsInvalidSessionTtl,
        _ => ex is HttpRequestException or IOException or SocketException,
    };

    /// <summary>
    /// Failures that mean "the DCS could not be used": transport errors, timeouts and error answers (including
    /// permission errors, for which the HA loop's DCS-failure path is the safe answer).
    /// </summary>
    private static bool IsTransportFailure(Exception ex) =>
        ex is HttpRequestException or IOException or SocketException or OperationCanceledException or ConsulApiException or System.Text.Json.JsonException;

    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException http when http.InnerException is { } inner => $"{http.Message} ({inner.Message})",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private static DcsVersion Version(ulong index) => new(index.ToString(CultureInfo.InvariantCulture));

    private bool TryParseIndex(DcsVersion version, string key, out ulong index)
    {
        if (ulong.TryParse(version.Token, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index > 0) return true;
        Log.ForeignVersionToken(_logger, version.Token ?? "", key);
        return false;
    }
}
