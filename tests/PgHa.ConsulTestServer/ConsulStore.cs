namespace PgHa.ConsulTestServer;

/// <summary>
/// The state and semantics of a single-server Consul datacenter — KV store, sessions, indexes, lock-delay and blocking
/// queries — without HTTP (<see cref="ConsulHttpApi"/> maps requests onto it). Thread-safe; time only through the
/// <see cref="TimeProvider"/>, so tests can drive TTLs with a fake clock.
/// </summary>
/// <remarks>
/// Each behaviour cites the statement of Consul's documentation it follows (paraphrased; KV store API
/// <c>/v1/kv</c>, Session API <c>/v1/session</c>, "Sessions and distributed locks", "Blocking queries"). Where the
/// documentation is silent the choice is marked as such.
/// </remarks>
public sealed class ConsulStore : IDisposable
{
    /// <summary>Consul's default lock-delay when a session is created without one.</summary>
    public static readonly TimeSpan DefaultLockDelay = TimeSpan.FromSeconds(15);

    /// <summary>The largest lock-delay Consul accepts.</summary>
    public static readonly TimeSpan MaxLockDelay = TimeSpan.FromSeconds(60);

    /// <summary>The largest session TTL Consul accepts (<c>session_ttl_max</c> is fixed at 24 h).</summary>
    public static readonly TimeSpan MaxSessionTtl = TimeSpan.FromHours(24);

    /// <summary>Consul's default and maximum wait of a blocking query.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(5), MaxWait = TimeSpan.FromMinutes(10);

    /// <summary>Consul's limit on the size of a value (512 KiB).</summary>
    public const int MaxValueSize = 512 * 1024;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ConsulTestServerOptions _options;
    private readonly SortedDictionary<string, KvEntry> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _tombstones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LiveSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lockDelayUntil = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceRegistration> _services = new(StringComparer.Ordinal);
    private ulong _index = 1;
    private ulong _kvIndex;
    private TaskCompletionSource _changed = NewSignal();
    private bool _disposed;

    /// <summary>Creates an empty datacenter.</summary>
    public ConsulStore(ConsulTestServerOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException("Invalid Consul test server options: " + string.Join(" ", problems), nameof(options));
        _options = options;
        _time = timeProvider;
    }

    /// <summary>The settings.</summary>
    public ConsulTestServerOptions Options => _options;

    /// <summary>The current raft index: raised by every write (KV, session create and invalidation).</summary>
    public ulong Index
    {
        get
        {
            lock (_gate) return _index;
        }
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Sessions

    /// <summary>Creates a session (<c>PUT /v1/session/create</c>) and returns it.</summary>
    /// <exception cref="ConsulApiException">An invalid TTL, behavior, lock-delay or check.</exception>
    public ConsulSession CreateSession(SessionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Docs: "Behavior ... can be set to either release or delete ... release is the default".
        var behavior = string.IsNullOrEmpty(request.Behavior) ? "release" : request.Behavior;
        if (behavior is not ("release" or "delete"))
            throw new ConsulApiException(500, $"Invalid session behavior setting '{behavior}'");
        // Docs: "LockDelay ... defaults to 15 seconds ... can be set to 0 ... between 0 and 60 seconds".
        var lockDelay = request.LockDelay ?? DefaultLockDelay;
        if (lockDelay < TimeSpan.Zero || lockDelay > MaxLockDelay)
            throw new ConsulApiException(500, $"Invalid lock delay '{GoDuration.Format(lockDelay)}', must be between 0s and {GoDuration.Format(MaxLockDelay)}");
        // Docs: "TTL ... If provided, the session is invalidated if it is not renewed before the TTL expires ... valid
        // values are between 10s and 86400s" (the lower bound is the agent's session_ttl_min). "0s" or none: no TTL.
        var ttlText = request.Ttl ?? "";
        var ttl = TimeSpan.Zero;
        if (ttlText.Length > 0)
        {
            if (!GoDuration.TryParse(ttlText, out ttl))
                throw new ConsulApiException(500, $"Invalid Session TTL '{ttlText}': time: invalid duration \"{ttlText}\"");
            if (ttl != TimeSpan.Zero && (ttl < _options.SessionTtlMin || ttl > MaxSessionTtl))
                throw new ConsulApiException(500,
                    $"Invalid Session TTL '{ttl.Ticks * 100}', must be between [{GoDuration.Format(_options.SessionTtlMin)}={GoDuration.Format(MaxSessionTtl)}]");
        }
        // Docs: "Checks ... defaults to the serfHealth check ... an empty list means no checks". The agent of this
        // server is always healthy, so serfHealth never fails; any other check must be registered, as in Consul.
        var checks = request.NodeChecks ?? ["serfHealth"];
        foreach (var check in checks.Concat(request.ServiceChecks ?? []))
        {
            if (check != "serfHealth" && !_services.Values.Any(s => s.CheckId == check))
                throw new ConsulApiException(500, $"Missing check '{check}' registration");
        }
        var node = string.IsNullOrEmpty(request.Node) ? _options.NodeName : request.Node;
        if (node != _options.NodeName) throw new ConsulApiException(500, $"Missing node registration");

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var index = ++_index;
            var session = new ConsulSession(Guid.NewGuid().ToString(), request.Name ?? "", node, [.. checks], lockDelay, behavior, ttlText, index);
            var live = new LiveSession(session, ttl);
            _sessions.Add(session.Id, live);
            StartTtlTimer(live);
            return session;
        }
    }

    /// <summary>Renews a session's TTL (<c>PUT /v1/session/renew/:uuid</c>); null when no such session exists (Consul's 404).</summary>
    public ConsulSession? RenewSession(string id)
    {
        lock (_gate)
        {
            // Docs: "renew ... returns 404 if the session no longer exists" (it was invalidated or never existed).
            if (!_sessions.TryGetValue(id, out var live)) return null;
            // Docs ("Sessions"): the TTL is renewed on session creation and on session renewal. Renewal goes through
            // no raft write, so it raises no index.
            StartTtlTimer(live);
            return live.Session;
        }
    }

    /// <summary>Destroys a session (<c>PUT /v1/session/destroy/:uuid</c>); destroying an unknown session succeeds too.</summary>
    public void DestroySession(string id)
    {
        lock (_gate)
        {
            // Docs ("Sessions"): an explicitly destroyed session is invalidated like any other, so its behavior and
            // lock-delay apply to the keys it holds.
            if (_sessions.TryGetValue(id, out var live)) Invalidate(live);
        }
    }

    /// <summary>The session, or null when it does not exist (any more).</summary>
    public ConsulSession? GetSession(string id)
    {
        lock (_gate) return _sessions.TryGetValue(id, out var live) ? live.Session : null;
    }

    /// <summary>Every live session, oldest first.</summary>
    public IReadOnlyList<ConsulSession> ListSessions()
    {
        lock (_gate) return [.. _sessions.Values.Select(s => s.Session).OrderBy(s => s.CreateIndex)];
    }

    /// <summary>(Re)arms the TTL timer: fires <c>TTL × multiplier</c> from now.</summary>
    private void StartTtlTimer(LiveSession live)
    {
        if (live.Ttl == TimeSpan.Zero) return;
        // Docs ("Sessions"): "the TTL ... represents a lower bound for invalidation; Consul will not expire the session
        // before the TTL is reached, but it may delay the expiration past the TTL" — and the Session API: "Consul
        // may take up to twice the TTL" to invalidate. This server waits exactly TTL × SessionTtlMultiplier (2).
        var delay = TimeSpan.FromTicks((long)(live.Ttl.Ticks * _options.SessionTtlMultiplier));
        live.ExpiresAt = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
        live.Timer?.Dispose();
        live.Timer = _time.CreateTimer(_ => Expire(live), null, delay, Timeout.InfiniteTimeSpan);
    }

    private void Expire(LiveSession live)
    {
        lock (_gate)
        {
            if (_disposed || !_sessions.TryGetValue(live.Session.Id, out var current) || current != live) return;
            var early = live.ExpiresAt - _time.GetTimestamp();
            if (early > 0)
            {
                // A timer that fired a little early: wait out the rest, the session may not go before its deadline.
                live.Timer?.Dispose();
                live.Timer = _time.CreateTimer(_ => Expire(live), null, TimeSpan.FromSeconds((double)early / _time.TimestampFrequency), Timeout.InfiniteTimeSpan);
                return;
            }
            Invalidate(live);
        }
    }

    /// <summary>Invalidates a session under the lock: applies its behavior and lock-delay to the keys it holds.</summary>
    private void Invalidate(LiveSession live)
    {
        live.Timer?.Dispose();
        _sessions.Remove(live.Session.Id);
        var index = ++_index;
        var held = _kv.Values.Where(e => e.Session == live.Session.Id).ToList();
        foreach (var entry in held)
        {
            // Docs ("Sessions"): "If the release behavior is being used, any of the locks held in association with the
            // session are released, and the ModifyIndex of the key is incremented. Alternatively, if the delete
            // behavior is used, the keys corresponding to any of the held locks are simply deleted."
            if (live.Session.Behavior == "delete")
                RemoveKey(entry.Key, index);
            else
                _kv[entry.Key] = entry with { Session = null, ModifyIndex = index };
            // Docs ("Sessions"): "When a session invalidation takes place, Consul prevents any of the previously held
            // locks from being re-acquired for the lock-delay interval".
            if (live.Session.LockDelay > TimeSpan.Zero)
                _lockDelayUntil[entry.Key] = _time.GetTimestamp() + (long)(live.Session.LockDelay.TotalSeconds * _time.TimestampFrequency);
        }
        if (held.Count > 0)
        {
            _kvIndex = index;
            Signal();
        }
    }

    // -----------------------------------------------------------------------------------------------------------------
    // KV

    /// <summary>Reads one key, or with <paramref name="recurse"/> every key starting with <paramref name="key"/> (<c>GET /v1/kv/:key</c>).</summary>
    public KvReadResult Read(string key, bool recurse)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate) return ReadLocked(key, recurse);
    }

    /// <summary>
    /// A blocking read: returns as soon as the result's index is above <paramref name="minIndex"/>, else when it rises
    /// above it, else after <paramref name="wait"/> (plus jitter) with the unchanged result.
    /// </summary>
    public Task<KvReadResult> ReadBlockingAsync(string key, bool recurse, ulong minIndex, TimeSpan? wait, CancellationToken cancellationToken) =>
        BlockAsync(() => ReadLocked(key, recurse), r => r.Index, minIndex, wait, cancellationToken);

    private KvReadResult ReadLocked(string key, bool recurse)
    {
        List<KvEntry> entries;
        ulong index = 0;
        if (recurse)
        {
            entries = [.. _kv.Where(kv => kv.Key.StartsWith(key, StringComparison.Ordinal)).Select(kv => kv.Value)];
            foreach (var entry in entries) index = Math.Max(index, entry.ModifyIndex);
            // Docs (KV, and PR "Adding KV tombstones to fix non-monotonic index on deletes"): deletes leave tombstones
            // so the index of a prefix never goes back when a key under it is deleted.
            foreach (var (tombstone, deletedAt) in _tombstones)
                if (tombstone.StartsWith(key, StringComparison.Ordinal)) index = Math.Max(index, deletedAt);
        }
        else
        {
            entries = _kv.TryGetValue(key, out var entry) ? [entry] : [];
            if (entry is not null) index = entry.ModifyIndex;
            else if (_tombstones.TryGetValue(key, out var deletedAt)) index = deletedAt;
        }
        // Not documented per endpoint: for a result with no index of its own Consul answers the KV table's index; the
        // blocking-query docs require clients to treat an index of 0 as invalid, so it is never 0 here.
        if (index == 0) index = Math.Max(_kvIndex, 1);
        return new KvReadResult(entries, index);
    }

    /// <summary>
    /// Writes a key (<c>PUT /v1/kv/:key</c>). Returns false when a <paramref name="cas"/>, <paramref name="acquire"/> or
    /// <paramref name="release"/> condition does not hold (nothing changes).
    /// </summary>
    /// <exception cref="ConsulApiException">The session to acquire with does not exist ("invalid session").</exception>
    public bool Put(string key, byte[] value, ulong? flags = null, ulong? cas = null, string? acquire = null, string? release = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key.Length == 0) throw new ConsulApiException(400, "Missing key name");
        if (value.Length > MaxValueSize) throw new ConsulApiException(413, $"Value exceeds {MaxValueSize} byte limit");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _kv.TryGetValue(key, out var existing);
            var newFlags = flags ?? existing?.Flags ?? 0;
            KvEntry updated;
            if (acquire is not null)
            {
                // Docs (KV): "acquire ... If the lock is not held and the session is valid, this increments the
                // LockIndex and sets the Session value of the key in addition to updating the key contents. A key does
                // not need to exist to be acquired. If the lock is already held by the given session, then the
                // LockIndex is not incremented but the key contents are updated."
                if (!_sessions.ContainsKey(acquire)) throw new ConsulApiException(500, $"invalid session \"{acquire}\"");
                if (existing?.Session is { } holder && holder != acquire) return false;
                if (existing?.Session != acquire && LockDelayed(key)) return false;
                var index = ++_index;
                updated = existing is null
                    ? new KvEntry(key, value, newFlags, index, index, 1, acquire)
                    : existing with
                    {
                        Value = value, Flags = newFlags, ModifyIndex = index,
                        LockIndex = existing.Session == acquire ? existing.LockIndex : existing.LockIndex + 1, Session = acquire,
                    };
            }
            else if (release is not null)
            {
                // Docs (KV): "release ... This is used to release the lock on the key, if it is held by the given
                // session ... the LockIndex is not changed"; a release by a session not holding it does nothing.
                if (existing is null || existing.Session != release) return false;
                var index = ++_index;
                updated = existing with { Value = value, Flags = newFlags, ModifyIndex = index, Session = null };
            }
            else
            {
                // Docs (KV): "cas ... If the index is 0, Consul will only put the key if it does not already exist. If
                // the index is non-zero, the key is only set if the index matches the ModifyIndex of that key."
                if (cas is 0 && existing is not null) return false;
                if (cas is > 0 && (existing is null || existing.ModifyIndex != cas)) return false;
                // Docs (KV): "an update that does not include the acquire parameter will proceed normally even if
                // another session has locked the key" — the lock stays with its holder.
                var index = ++_index;
                updated = existing is null
                    ? new KvEntry(key, value, newFlags, index, index, 0, null)
                    : existing with { Value = value, Flags = newFlags, ModifyIndex = index };
            }
            _kv[key] = updated;
            _tombstones.Remove(key);
            _kvIndex = updated.ModifyIndex;
            Signal();
            return true;
        }
    }

    /// <summary>Deletes a key, or with <paramref name="recurse"/> every key under a prefix (<c>DELETE /v1/kv/:key</c>). False when the <paramref name="cas"/> check fails.</summary>
    public bool Delete(string key, bool recurse = false, ulong? cas = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (recurse)
            {
                // Docs (KV): "recurse ... Specifies to delete all keys which have the specified prefix. Without this, only
                // a key with an exact match will be deleted." The cas check applies to single keys only.
                var keys = _kv.Keys.Where(k => k.StartsWith(key, StringComparison.Ordinal)).ToList();
                if (keys.Count == 0) return true;
                var index = ++_index;
                foreach (var k in keys) RemoveKey(k, index);
                _kvIndex = index;
                Signal();
                return true;
            }
            _kv.TryGetValue(key, out var existing);
            if (cas is { } expected)
            {
                // Docs (KV): "cas ... Unlike PUT, the index must be greater than 0 for Consul to take any action: a 0
                // index will not delete the key. If the index is non-zero, the key is only deleted if the index
                // matches the ModifyIndex of that key." Not documented: a key already absent — this server answers
                // true, as for a delete without cas (the key is gone either way).
                if (existing is null) return true;
                if (expected == 0 || existing.ModifyIndex != expected) return false;
            }
            if (existing is null) return true; // Docs: deleting a key that does not exist is not an error.
            var deleteIndex = ++_index;
            RemoveKey(key, deleteIndex);
            _kvIndex = deleteIndex;
            Signal();
            return true;
        }
    }

    private void RemoveKey(string key, ulong index)
    {
        _kv.Remove(key);
        _tombstones[key] = index;
    }

    private bool LockDelayed(string key)
    {
        if (!_lockDelayUntil.TryGetValue(key, out var until)) return false;
        if (_time.GetTimestamp() < until) return true;
        _lockDelayUntil.Remove(key);
        return false;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Agent services (register_service)

    /// <summary>Registers (or replaces) a service on the agent (<c>PUT /v1/agent/service/register</c>).</summary>
    public void RegisterService(ServiceRegistration service)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            _services[service.Id] = service;
            ++_index;
        }
    }

    /// <summary>Removes a service (<c>PUT /v1/agent/service/deregister/:id</c>); false when it was not registered.</summary>
    public bool DeregisterService(string id)
    {
        lock (_gate)
        {
            if (!_services.Remove(id)) return false;
            ++_index;
            return true;
        }
    }

    /// <summary>The registered services by id.</summary>
    public IReadOnlyList<ServiceRegistration> Services()
    {
        lock (_gate) return [.. _services.Values.OrderBy(s => s.Id, StringComparer.Ordinal)];
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Blocking queries

    private async Task<T> BlockAsync<T>(Func<T> query, Func<T, ulong> indexOf, ulong minIndex, TimeSpan? wait, CancellationToken cancellationToken)
    {
        // Docs ("Blocking queries"): "wait ... This is limited to 10 minutes. If not set, the wait time defaults to 5
        // minutes ... A small random amount of additional wait time is added to the supplied maximum wait time to
        // spread out the wake up time of any concurrent requests. This adds up to wait / 16 additional time".
        var limit = wait is { } w && w > TimeSpan.Zero ? (w > MaxWait ? MaxWait : w) : DefaultWait;
        if (_options.BlockingQueryJitter) limit += TimeSpan.FromTicks(Random.Shared.NextInt64(Math.Max(1, limit.Ticks / 16)));
        var started = _time.GetTimestamp();
        while (true)
        {
            T result;
            Task changed;
            lock (_gate)
            {
                result = query();
                changed = _changed.Task;
            }
            // Docs: "the client can set the index query string parameter to the value of X-Consul-Index, indicating
            // that the client wishes to wait for any changes subsequent to that index" — index 0 (or none) answers at
            // once; a result already newer than the index answers at once.
            if (minIndex == 0 || indexOf(result) > minIndex) return result;
            var left = limit - _time.GetElapsedTime(started);
            // Docs: "the return of a blocking request is no guarantee of a change. It is possible that the timeout was
            // reached" — then the unchanged result is answered.
            if (left <= TimeSpan.Zero) return result;
            try
            {
                await changed.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                lock (_gate) return query();
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes blocking queries (under the lock) after a change of the KV table.</summary>
    private void Signal()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    /// <summary>Stops every session timer.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var live in _sessions.Values) live.Timer?.Dispose();
            _sessions.Clear();
        }
    }

    private sealed class LiveSession(ConsulSession session, TimeSpan ttl)
    {
        public ConsulSession Session { get; } = session;
        public TimeSpan Ttl { get; } = ttl;
        public long ExpiresAt { get; set; }
        public ITimer? Timer { get; set; }
    }
}

/// <summary>A service registered on the agent (<c>register_service</c>), with its optional HTTP check.</summary>
/// <param name="Id">The service id (default: its name).</param>
/// <param name="Name">The service name.</param>
/// <param name="Tags">Its tags.</param>
/// <param name="Address">Its address.</param>
/// <param name="Port">Its port.</param>
/// <param name="CheckId">The id of its check (<c>service:&lt;id&gt;</c>), or null without one.</param>
/// <param name="CheckHttp">The URL the check would GET (not probed by this server).</param>
public sealed record ServiceRegistration(string Id, string Name, IReadOnlyList<string> Tags, string Address, int Port, string? CheckId, string? CheckHttp);
