using System.Globalization;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Testing;

/// <summary>
/// The shared state of an in-memory DCS: one key space holding any number of clusters, keyed by absolute key
/// (<c>/&lt;namespace&gt;/&lt;scope&gt;/&lt;key&gt;</c>). Every <see cref="InMemoryDcs"/> of a test or a simulation talks to
/// the same store, as the nodes of a real cluster talk to the same etcd.
/// </summary>
/// <remarks>
/// <para><b>Versions.</b> One global revision counts every change (create, replace, delete, expiry), and a key's version
/// is the revision that last changed it, like etcd's <c>mod_revision</c>. Renewing a lock or touching a member with an
/// unchanged value only refreshes the TTL, like an etcd lease keep-alive: the version stays and nothing is notified.</para>
/// <para><b>TTL.</b> A key written with a TTL expires at (time of the acquire, renew or touch) + ttl on the injected
/// <see cref="System.TimeProvider"/> and is gone from that instant on (<c>now &gt;= expiresAt</c>). Expiry is applied
/// lazily when the key is next accessed, and at the expiry instant for keys someone waits on, so a waiter wakes when a
/// lock expires as it would through an etcd watch. An expiry is a change: it gets a revision of its own.</para>
/// <para><b>Change counters.</b> <see cref="GetChangeCounter"/> answers with the revision of the latest change to one key
/// or under one prefix; because all counters are revisions of one sequence, a single number seen once (for example
/// the revision a read returned) can be compared with any of them.</para>
/// <para><b>Determinism.</b> No wall clock, no randomness, no background work: the same calls and clock advances give the
/// same revisions and results. All methods are thread-safe behind one lock and complete synchronously, except
/// <see cref="WaitForChangeAsync(IReadOnlyList{string}, long, TimeSpan, CancellationToken)"/>.</para>
/// <para>Prefixes start and end with <c>/</c> (as <see cref="ClusterKeys.Prefix"/> builds them); keys passed with a prefix
/// are relative to it (<c>leader</c>, <c>members/node1</c>), as in <see cref="DcsEntry.Key"/>.</para>
/// </remarks>
public sealed class InMemoryDcsStore
{
    // Sentinel expiry of keys without a TTL; never reached by any clock.
    private const long Never = long.MaxValue;

    // Keys up to this length are composed on the stack, so looking up an existing key allocates nothing.
    private const int StackKeyLength = 256;

    // System timers reject due times beyond ~49 days; a waiter with a longer timeout simply re-arms.
    private static readonly TimeSpan MaxTimerDueTime = TimeSpan.FromDays(1);

    private static readonly Task<bool> CompletedTrue = Task.FromResult(true);
    private static readonly Task<bool> CompletedFalse = Task.FromResult(false);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _entryLookup;

    // The same entries in ordinal key order, so a prefix is one contiguous range found by binary search.
    private readonly List<Entry> _sorted = [];

    // Change counter and waiters of every key and every '/'-terminated prefix that has ever changed or been waited on.
    private readonly Dictionary<string, WatchPoint> _watchPoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WatchPoint>.AlternateLookup<ReadOnlySpan<char>> _watchPointLookup;

    private long _revision;

    private List<(Waiter Waiter, bool Result, CancellationToken? CancelledBy)> _pending = [];
    private int _depth;

    /// <summary>Creates an empty store whose TTLs and wait timeouts run on <paramref name="timeProvider"/>.</summary>
    /// <param name="timeProvider">The clock; a <c>FakeTimeProvider</c> or a simulator's clock makes expiry deterministic.</param>
    public InMemoryDcsStore(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        TimeProvider = timeProvider;
        _entryLookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
        _watchPointLookup = _watchPoints.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The clock TTLs and wait timeouts run on.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The global revision: the number of changes so far, and the version of the latest one.</summary>
    public long Revision
    {
        get
        {
            using (Enter()) return _revision;
        }
    }

    /// <summary>
    /// Creates <c>&lt;prefix&gt;leader</c> holding <paramref name="memberName"/>, expiring after <paramref name="ttl"/>,
    /// if and only if it does not exist (an expired lock does not exist).
    /// </summary>
    /// <returns>The new lock, or null when the key exists (held by anyone, including <paramref name="memberName"/>).</returns>
    public LeaderLock? TryAcquireLeader(string prefix, string memberName, TimeSpan ttl)
    {
        ValidatePrefix(prefix);
        ValidateName(memberName, nameof(memberName));
        ValidateTtl(ttl);
        Span<char> buffer = stackalloc char[StackKeyLength];
        var key = Compose(buffer, prefix, ClusterKeys.Leader);
        using (Enter())
        {
            var now = Now();
            if (Find(key, now) is not null) return null;
            var entry = Create(key, memberName, ExpiryOf(now, ttl));
            return new LeaderLock(memberName, entry.Version);
        }
    }

    /// <summary>
    /// Extends the lock for another <paramref name="ttl"/> from now if it still holds <paramref name="memberName"/> with the
    /// version of <paramref name="held"/>. The version does not change.
    /// </summary>
    /// <returns>The current lock, or null when it expired, was released or replaced, or is held by someone else.</returns>
    public LeaderLock? TryRenewLeader(string prefix, string memberName, LeaderLock held, TimeSpan ttl)
    {
        ValidatePrefix(prefix);
        ValidateName(memberName, nameof(memberName));
        ArgumentNullException.ThrowIfNull(held);
        ValidateTtl(ttl);
        if (!string.Equals(held.Holder, memberName, StringComparison.Ordinal)) return null;
        Span<char> buffer = stackalloc char[StackKeyLength];
        var key = Compose(buffer, prefix, ClusterKeys.Leader);
        using (Enter())
        {
            var now = Now();
            if (Find(key, now) is not { } entry
                || !string.Equals(entry.Value, memberName, StringComparison.Ordinal)
                || entry.Version != held.Version)
                return null;
            entry.ExpiresAt = ExpiryOf(now, ttl);
            return held.Session is null ? held : new LeaderLock(memberName, entry.Version);
        }
    }

    /// <summary>Deletes <c>&lt;prefix&gt;leader</c> if and only if it holds <paramref name="memberName"/>.</summary>
    /// <returns>True when the lock was deleted; false when it is absent or held by someone else (nothing changes).</returns>
    public bool ReleaseLeader(string prefix, string memberName)
    {
        ValidatePrefix(prefix);
        ValidateName(memberName, nameof(memberName));
        Span<char> buffer = stackalloc char[StackKeyLength];
        var key = Compose(buffer, prefix, ClusterKeys.Leader);
        using (Enter())
        {
            if (Find(key, Now()) is not { } entry || !string.Equals(entry.Value, memberName, StringComparison.Ordinal))
                return false;
            Remove(entry);
            return true;
        }
    }

    /// <summary>
    /// Creates or replaces <c>&lt;prefix&gt;members/&lt;memberName&gt;</c> with <paramref name="value"/> (serialized member
    /// JSON), expiring after <paramref name="ttl"/>. An unchanged value only refreshes the TTL and keeps its version.
    /// </summary>
    /// <returns>True when the value was created or changed (a new version); false when only the TTL was refreshed.</returns>
    public bool TouchMember(string prefix, string memberName, string value, TimeSpan ttl)
    {
        ValidatePrefix(prefix);
        ValidateName(memberName, nameof(memberName));
        ArgumentNullException.ThrowIfNull(value);
        ValidateTtl(ttl);
        Span<char> buffer = stackalloc char[StackKeyLength];
        var key = Compose(buffer, prefix, ClusterKeys.MembersPrefix, memberName);
        using (Enter())
        {
            var now = Now();
            var expiresAt = ExpiryOf(now, ttl);
            if (Find(key, now) is not { } entry)
            {
                Create(key, value, expiresAt);
                return true;
            }
            if (string.Equals(entry.Value, value, StringComparison.Ordinal))
            {
                entry.ExpiresAt = expiresAt;
                return false;
            }
            Replace(entry, value, expiresAt);
            return true;
        }
    }

    /// <summary>
    /// Writes <paramref name="value"/> to <c>&lt;prefix&gt;&lt;key&gt;</c>, without a TTL, if <paramref name="condition"/>
    /// holds. Every successful write is a change with a new version, even when the value is the same.
    /// </summary>
    /// <returns>True when written; false when the condition does not hold (nothing changes).</returns>
    public bool TryWrite(string prefix, string key, string value, WriteCondition condition)
    {
        ValidatePrefix(prefix);
        ValidateRelativeKey(key);
        ArgumentNullException.ThrowIfNull(value);
        Span<char> buffer = stackalloc char[StackKeyLength];
        var absolute = Compose(buffer, prefix, key);
        using (Enter())
        {
            var entry = Find(absolute, Now());
            switch (condition.Kind)
            {
                case WriteConditionKind.Absent when entry is not null:
                case WriteConditionKind.VersionMatches when entry is null || entry.Version != condition.Version:
                    return false;
            }
            if (entry is null) Create(absolute, value, Never);
            else Replace(entry, value, Never);
            return true;
        }
    }

    /// <summary>Deletes <c>&lt;prefix&gt;&lt;key&gt;</c> if it exists and <paramref name="condition"/> holds.</summary>
    /// <returns>True when deleted; false when the key is absent or the condition does not hold.</returns>
    public bool TryDelete(string prefix, string key, WriteCondition condition)
    {
        ValidatePrefix(prefix);
        ValidateRelativeKey(key);
        Span<char> buffer = stackalloc char[StackKeyLength];
        var absolute = Compose(buffer, prefix, key);
        using (Enter())
        {
            if (Find(absolute, Now()) is not { } entry) return false;
            switch (condition.Kind)
            {
                case WriteConditionKind.Absent:
                case WriteConditionKind.VersionMatches when entry.Version != condition.Version:
                    return false;
            }
            Remove(entry);
            return true;
        }
    }

    /// <summary>Deletes every key under <paramref name="prefix"/>.</summary>
    /// <returns>How many live keys were deleted.</returns>
    public int DeletePrefix(string prefix)
    {
        ValidatePrefix(prefix);
        using (Enter())
        {
            var now = Now();
            var live = 0;
            var start = LowerBound(prefix);
            while (start < _sorted.Count && _sorted[start].Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                if (_sorted[start].ExpiresAt > now) live++;
                RemoveAt(start);
            }
            return live;
        }
    }

    /// <summary>Reads every live key under <paramref name="prefix"/> in one atomic step, in ordinal key order.</summary>
    /// <returns>The entries, with keys relative to <paramref name="prefix"/>.</returns>
    public IReadOnlyList<DcsEntry> ReadAll(string prefix) => ReadAll(prefix, out _);

    /// <summary>Reads every live key under <paramref name="prefix"/> and the revision the read reflects, in one atomic step.</summary>
    /// <param name="prefix">The prefix, for example <c>/service/batman/</c>.</param>
    /// <param name="revision">The global revision at the read: a change counter greater than it changed after the read.</param>
    /// <returns>The entries in ordinal key order, with keys relative to <paramref name="prefix"/>.</returns>
    public IReadOnlyList<DcsEntry> ReadAll(string prefix, out long revision)
    {
        ValidatePrefix(prefix);
        using (Enter())
        {
            var start = SweepRange(prefix, Now(), out var count);
            revision = _revision;
            if (count == 0) return [];
            var result = new DcsEntry[count];
            for (var i = 0; i < count; i++)
                result[i] = _sorted[start + i].ToDcsEntry(prefix.Length);
            return result;
        }
    }

    /// <summary>
    /// The holder and expiry of <c>&lt;prefix&gt;leader</c>, or null when there is no live lock. For invariant checkers:
    /// unlike every other method it leaves an expired lock in place, so observing the store never changes it.
    /// </summary>
    public (string Holder, DateTimeOffset ExpiresAt)? PeekLeader(string prefix)
    {
        ValidatePrefix(prefix);
        Span<char> buffer = stackalloc char[StackKeyLength];
        var key = Compose(buffer, prefix, ClusterKeys.Leader);
        using (Enter())
        {
            if (!_entryLookup.TryGetValue(key, out var entry) || entry.ExpiresAt <= Now()) return null;
            return (entry.Value, entry.ExpiresAt == Never ? DateTimeOffset.MaxValue : new DateTimeOffset(entry.ExpiresAt, TimeSpan.Zero));
        }
    }

    /// <summary>
    /// The revision of the latest change to <paramref name="keyOrPrefix"/>: an absolute prefix ending in <c>/</c> covers
    /// every key under it, anything else names one absolute key. 0 when nothing there has changed yet. It grows with
    /// every create, replace, delete or observed expiry, never with a renewal.
    /// </summary>
    public long GetChangeCounter(string keyOrPrefix)
    {
        ValidateWatchTarget(keyOrPrefix);
        using (Enter()) return _watchPointLookup.TryGetValue(keyOrPrefix, out var point) ? point.Counter : 0;
    }

    /// <summary>
    /// Completes with true as soon as <paramref name="keyOrPrefix"/> has a change counter above
    /// <paramref name="seenCounter"/> (at once if it already has), or with false after <paramref name="timeout"/> on
    /// <see cref="TimeProvider"/>.
    /// </summary>
    public Task<bool> WaitForChangeAsync(string keyOrPrefix, long seenCounter, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitForChangeAsync([keyOrPrefix], seenCounter, timeout, cancellationToken);

    /// <summary>
    /// Completes with true as soon as any of <paramref name="keysOrPrefixes"/> has a change counter above
    /// <paramref name="seenCounter"/> (at once if one already has, including keys that have expired unobserved), with
    /// false after <paramref name="timeout"/> on <see cref="TimeProvider"/>, or as cancelled when
    /// <paramref name="cancellationToken"/> fires. A lock or member expiring while someone waits on it wakes the waiter at
    /// the expiry instant.
    /// </summary>
    /// <param name="keysOrPrefixes">Absolute keys, or absolute prefixes ending in <c>/</c>.</param>
    /// <param name="seenCounter">The revision already seen, usually from <see cref="ReadAll(string, out long)"/>.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until a change or cancellation.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task<bool> WaitForChangeAsync(IReadOnlyList<string> keysOrPrefixes, long seenCounter, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keysOrPrefixes);
        if (keysOrPrefixes.Count == 0) throw new ArgumentException("At least one key or prefix is required.", nameof(keysOrPrefixes));
        foreach (var target in keysOrPrefixes) ValidateWatchTarget(target);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<bool>(cancellationToken);

        using (Enter())
        {
            var now = Now();
            var points = new WatchPoint[keysOrPrefixes.Count];
            for (var i = 0; i < points.Length; i++)
            {
                // Expiry that already happened but was never observed is a change the caller has not seen.
                SweepTarget(keysOrPrefixes[i], now);
                points[i] = GetOrAddWatchPoint(keysOrPrefixes[i]);
                if (points[i].Counter > seenCounter) return CompletedTrue;
            }
            if (timeout == TimeSpan.Zero) return CompletedFalse;

            var deadline = timeout == Timeout.InfiniteTimeSpan ? Never : SaturatingAdd(now, timeout.Ticks);
            var waiter = new Waiter(this, [.. keysOrPrefixes], points, deadline);
            foreach (var point in points) (point.Waiters ??= []).Add(waiter);
            if (DueTime(waiter, now) is var due && due != Timeout.InfiniteTimeSpan)
                waiter.Timer = TimeProvider.CreateTimer(static state => ((Waiter)state!).Store.OnTimer((Waiter)state), waiter, due, Timeout.InfiniteTimeSpan);
            if (cancellationToken.CanBeCanceled)
            {
                // Registered last: a token cancelled meanwhile runs the callback right here, and the lock is reentrant.
                waiter.Registration = cancellationToken.UnsafeRegister(
                    static (state, token) => ((Waiter)state!).Store.OnCancelled((Waiter)state, token), waiter);
            }
            return waiter.Task;
        }
    }

    private void OnTimer(Waiter waiter)
    {
        using (Enter())
        {
            if (waiter.Task.IsCompleted) return;
            var now = Now();
            // A key we wait on may have expired just now; removing it is the change that completes the waiter.
            foreach (var target in waiter.Targets) SweepTarget(target, now);
            if (waiter.Task.IsCompleted) return;
            if (now >= waiter.Deadline)
            {
                Complete(waiter, result: false, cancelledBy: null);
                return;
            }
            waiter.Timer!.Change(DueTime(waiter, now), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnCancelled(Waiter waiter, CancellationToken token)
    {
        using (Enter())
        {
            if (!waiter.Task.IsCompleted) Complete(waiter, result: false, cancelledBy: token);
        }
    }

    // Wakes at the deadline or at the next expiry among the targets, whichever comes first.
    private TimeSpan DueTime(Waiter waiter, long now)
    {
        var next = waiter.Deadline;
        foreach (var target in waiter.Targets) next = Math.Min(next, NextExpiry(target));
        // At least one tick: a zero due time on a fake clock would fire again at the same instant, forever.
        return next == Never ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Math.Clamp(next - now, 1, MaxTimerDueTime.Ticks));
    }

    private long NextExpiry(string target)
    {
        if (!IsPrefix(target)) return _entryLookup.TryGetValue(target, out var entry) ? entry.ExpiresAt : Never;
        var next = Never;
        for (var i = LowerBound(target); i < _sorted.Count && _sorted[i].Key.StartsWith(target, StringComparison.Ordinal); i++)
            next = Math.Min(next, _sorted[i].ExpiresAt);
        return next;
    }

    private void SweepTarget(string target, long now)
    {
        if (IsPrefix(target)) SweepRange(target, now, out _);
        else Find(target, now);
    }

    // Removes expired keys under the prefix; returns where its (now live-only) range starts and how long it is.
    private int SweepRange(string prefix, long now, out int count)
    {
        var start = LowerBound(prefix);
        var i = start;
        while (i < _sorted.Count && _sorted[i].Key.StartsWith(prefix, StringComparison.Ordinal))
        {
            if (_sorted[i].ExpiresAt <= now) RemoveAt(i);
            else i++;
        }
        count = i - start;
        return start;
    }

    private Entry? Find(ReadOnlySpan<char> key, long now)
    {
        if (!_entryLookup.TryGetValue(key, out var entry)) return null;
        if (entry.ExpiresAt > now) return entry;
        Remove(entry);
        return null;
    }

    private Entry Create(ReadOnlySpan<char> key, string value, long expiresAt)
    {
        var index = LowerBound(key);
        var entry = new Entry(key.ToString(), value, ++_revision, expiresAt);
        _sorted.Insert(index, entry);
        _entries.Add(entry.Key, entry);
        Changed(entry.Key);
        return entry;
    }

    private void Replace(Entry entry, string value, long expiresAt)
    {
        entry.Set(value, ++_revision, expiresAt);
        Changed(entry.Key);
    }

    private void Remove(Entry entry) => RemoveAt(LowerBound(entry.Key));

    private void RemoveAt(int index)
    {
        var entry = _sorted[index];
        _sorted.RemoveAt(index);
        _entries.Remove(entry.Key);
        _revision++;
        Changed(entry.Key);
    }

    // Records the current revision on the key and on each '/'-terminated prefix of it, and wakes their waiters.
    private void Changed(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == '/') Bump(GetOrAddWatchPoint(key.AsSpan(0, i + 1)));
        }
        if (key[^1] != '/') Bump(GetOrAddWatchPoint(key));

        void Bump(WatchPoint point)
        {
            point.Counter = _revision;
            // Complete removes the waiter from every list it is on, this one included.
            while (point.Waiters is { Count: > 0 } waiters) Complete(waiters[^1], result: true, cancelledBy: null);
        }
    }

    private void Complete(Waiter waiter, bool result, CancellationToken? cancelledBy)
    {
        foreach (var point in waiter.Points) point.Waiters!.Remove(waiter);
        waiter.Timer?.Dispose();
        waiter.Registration.Unregister();
        // Completed after the lock is released (see Exit): no caller code runs under the lock, yet continuations run
        // inline on the thread that caused the change, which keeps a single-threaded simulation on its thread.
        _pending.Add((waiter, result, cancelledBy));
    }

    private GateScope Enter()
    {
        _gate.Enter();
        _depth++;
        return new GateScope(this);
    }

    private void Exit()
    {
        List<(Waiter Waiter, bool Result, CancellationToken? CancelledBy)>? due = null;
        if (--_depth == 0 && _pending.Count > 0)
        {
            due = _pending;
            _pending = [];
        }
        _gate.Exit();
        if (due is null) return;
        foreach (var (waiter, result, cancelledBy) in due)
        {
            if (cancelledBy is { } token) waiter.TrySetCanceled(token);
            else waiter.TrySetResult(result);
        }
    }

    private readonly struct GateScope(InMemoryDcsStore store) : IDisposable
    {
        public void Dispose() => store.Exit();
    }

    private WatchPoint GetOrAddWatchPoint(ReadOnlySpan<char> keyOrPrefix)
    {
        if (!_watchPointLookup.TryGetValue(keyOrPrefix, out var point))
        {
            point = new WatchPoint();
            _watchPoints.Add(keyOrPrefix.ToString(), point);
        }
        return point;
    }

    // Index of the first entry whose key is ordinally >= key; a prefix's keys form one run from there.
    private int LowerBound(ReadOnlySpan<char> key)
    {
        int low = 0, high = _sorted.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_sorted[mid].Key.AsSpan().SequenceCompareTo(key) < 0) low = mid + 1;
            else high = mid;
        }
        return low;
    }

    private long Now() => TimeProvider.GetUtcNow().UtcTicks;

    private static long ExpiryOf(long now, TimeSpan ttl) => Math.Min(SaturatingAdd(now, ttl.Ticks), DateTimeOffset.MaxValue.UtcTicks);

    private static long SaturatingAdd(long now, long ticks) => ticks > Never - now ? Never : now + ticks;

    private static bool IsPrefix(string keyOrPrefix) => keyOrPrefix[^1] == '/';

    private static ReadOnlySpan<char> Compose(Span<char> buffer, string prefix, string part1, string part2 = "")
    {
        var length = prefix.Length + part1.Length + part2.Length;
        var target = length <= buffer.Length ? buffer[..length] : new char[length];
        prefix.CopyTo(target);
        part1.CopyTo(target[prefix.Length..]);
        part2.CopyTo(target[(prefix.Length + part1.Length)..]);
        return target;
    }

    private static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0 || prefix[0] != '/' || prefix[^1] != '/')
            throw new ArgumentException($"A prefix starts and ends with '/', for example '/service/batman/'; got '{prefix}'.", nameof(prefix));
    }

    private static void ValidateWatchTarget(string keyOrPrefix)
    {
        ArgumentNullException.ThrowIfNull(keyOrPrefix);
        if (keyOrPrefix.Length == 0 || keyOrPrefix[0] != '/')
            throw new ArgumentException($"Expected an absolute key or prefix starting with '/'; got '{keyOrPrefix}'.", nameof(keyOrPrefix));
    }

    private static void ValidateRelativeKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key[0] == '/')
            throw new ArgumentException($"Expected a key relative to the prefix, for example 'config'; got '{key}'.", nameof(key));
    }

    private static void ValidateName(string name, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, paramName);
        if (name.Contains('/', StringComparison.Ordinal))
            throw new ArgumentException($"A member name cannot contain '/'; got '{name}'.", paramName);
    }

    private static void ValidateTtl(TimeSpan ttl) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);

    private sealed class Entry(string key, string value, long revision, long expiresAt)
    {
        private DcsEntry? _snapshot;

        public string Key { get; } = key;
        public string Value { get; private set; } = value;
        public DcsVersion Version { get; private set; } = VersionOf(revision);
        public long ExpiresAt { get; set; } = expiresAt;

        public void Set(string value, long revision, long expiresAt)
        {
            Value = value;
            Version = VersionOf(revision);
            ExpiresAt = expiresAt;
            _snapshot = null;
        }

        // Reads are the hot path of a simulation (every node, every cycle); an unchanged key is handed out as the same
        // immutable record for as long as it is read under a prefix of the same length.
        public DcsEntry ToDcsEntry(int prefixLength) =>
            _snapshot is { } cached && cached.Key.Length == Key.Length - prefixLength
                ? cached
                : _snapshot = new DcsEntry(Key[prefixLength..], Value, Version);

        private static DcsVersion VersionOf(long revision) => new(revision.ToString(CultureInfo.InvariantCulture));
    }

    private sealed class WatchPoint
    {
        public long Counter;
        public List<Waiter>? Waiters;
    }

    // Completed only outside the store's lock (see Exit), so a waiter's continuation never runs under it.
    private sealed class Waiter(InMemoryDcsStore store, string[] targets, WatchPoint[] points, long deadline)
        : TaskCompletionSource<bool>
    {
        public InMemoryDcsStore Store { get; } = store;
        public string[] Targets { get; } = targets;
        public WatchPoint[] Points { get; } = points;
        public long Deadline { get; } = deadline;
        public ITimer? Timer { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
    }
}
