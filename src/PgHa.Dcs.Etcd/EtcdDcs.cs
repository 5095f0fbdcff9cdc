using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using Member = PgHa.Cluster.Member;

namespace PgHa.Dcs.Etcd;

/// <summary>
/// One node's <see cref="IDcs"/> connection to etcd v3 (3.3 or later), wire-compatible with Patroni's <c>etcd3</c>
/// layout: the same keys under <c>/&lt;namespace&gt;/&lt;scope&gt;/</c>, the leader value is the bare member name, and
/// the leader and member keys are bound to the node's lease.
/// </summary>
/// <remarks>
/// <para><b>Creating.</b> <c>new EtcdDcs(options, TimeProvider.System, logger)</c>. The constructor validates the options
/// and builds the HTTP client but does no I/O, so it succeeds while etcd is down; every operation connects as needed.
/// One instance per node, shared by the HA loop and the REST API; it is thread-safe. Dispose it on shutdown: its keys
/// are then left to expire with its lease, as when the node crashes.</para>
/// <para><b>The contract on etcd.</b></para>
/// <list type="bullet">
/// <item><b>TTL carrier</b> — one lease per node, granted on first use with the TTL rounded up to whole seconds. Every
/// acquire and renew first refreshes it with a one-shot keep-alive sent within that operation (no background keep-alive
/// stream: a client's background keep-alive can die for good when etcd restarts, and the HA loop must see the lease's state each cycle anyway). A member touch does the same unless the lease was confirmed
/// (granted, or kept alive by any operation) less than <c>ttl/4</c> before, measured from when that request was sent:
/// the leader's touch right after its renewal then costs nothing, and a replica touching every <c>loop_wait</c> refreshes
/// every other cycle at Patroni's ratio (ttl 10, loop_wait 2), as Patroni does. The member key therefore outlives
/// every touch by at least <c>3/4 ttl</c> (and by <c>ttl</c> after any acquire or renew). A keep-alive answering TTL ≤ 0,
/// or a write refused with "lease not found", means the lease is gone — and with it every key it carried — so a new
/// lease is granted. A different TTL also takes a new lease; the old one is left to expire. Because a keep-alive sent at
/// <c>t</c> keeps the lease at least until <c>t + ttl</c>, and acquire and renew always send one,
/// <see cref="GuaranteedLockValidity"/> is <c>ttl</c>.</item>
/// <item><b>Acquire</b> — txn: compare <c>create_revision(leader) == 0</c>, then put <c>leader = name</c> with the lease.
/// The lock's version is the put's revision, its session the lease id.</item>
/// <item><b>Renew</b> — keep-alive, then txn: compare <c>value(leader) == name</c>, <c>mod_revision == held.Version</c> and
/// <c>lease == mine</c>. The txn is left out when the keep-alive alone proves the same: etcd confirmed the leader key
/// less than <c>ttl/4</c> before (a range read of the prefix, see <b>Load</b>, or an earlier renew txn that held), the
/// watch has stayed up since and delivered this connection's own writes, and the leader key still holds this name at
/// <c>held.Version</c> under the lease just kept alive. The keep-alive shows the lease — and so every key bound to it — alive, and no PgHa node
/// deletes or replaces a live lock of another (acquire needs the key absent, release compares the holder's own name),
/// so only someone writing etcd by hand within the watch's delivery delay could slip past; the lock would still expire
/// with the lease. Patroni's renewal checks nothing beyond its cached view. Only if the lease alone differs (the key was written under an older lease of this node, or by a
/// Patroni node of the same name) is the key re-put with the current lease under the same value and revision
/// comparison, as Patroni ≥ 3.0.3 does; the returned lock then carries the new version.</item>
/// <item><b>Release</b> — txn: compare <c>value(leader) == name</c>, then delete it.</item>
/// <item><b>Touch member</b> — keep-alive (unless recent, see above), then put <c>members/&lt;name&gt;</c> with the lease
/// only when the JSON or the lease changed since this node last wrote it, or a later read no longer showed it. An idle
/// node's touch usually sends nothing.</item>
/// <item><b>Load</b> — one linearizable range read of the cluster prefix; version = <c>mod_revision</c>, session = lease id
/// (decimal), parsed by <see cref="ClusterStateReader"/>. Once the connection watches (from its first
/// <see cref="WaitForChangeAsync"/> on, as the HA loop of every node does) and the leader key does not hold this
/// member's name, a load is answered from the watch-fed copy of the prefix instead, without a request, while that copy
/// is trusted (see <b>Watch</b>). The leader reads etcd unless etcd confirmed its lock less than <c>ttl/4</c> before
/// under the same stream (then the renewal that follows skips its txn as well): with ttl 10 and loop_wait 2 every other
/// leader cycle reads, with loop_wait ≥ ttl/4 every cycle does. The read lets the next renewals skip the txn, and a DCS
/// outage then fails the load, as the HA loop prefers (it keeps a primary while the lock is guaranteed); in a cycle
/// answered from the copy the outage fails the renewal instead. The copy
/// is one consistent revision, it includes every write this connection made (a load waits up to 1 s for the watch to
/// deliver it, else reads from etcd and restarts the watch), and reads never go back in time; a write by another node
/// shows as soon as the watch delivers it (milliseconds), like Patroni's etcd3 cache and like ZooKeeper reads. What a
/// non-leader decides on such a read ends in a compare-and-set on etcd itself (acquire, conditional writes), so an
/// answer a few milliseconds old can make a write fail, never succeed wrongly. Connections that never wait
/// (<c>pgha ctl</c>, tests) always read from etcd.</item>
/// <item><b>Cluster keys</b> — <see cref="WriteCondition.Always"/>: plain put; <see cref="WriteCondition.IfAbsent"/>: txn
/// compare <c>create_revision == 0</c>; <see cref="WriteCondition.IfVersion"/>: txn compare <c>mod_revision == version</c>.
/// Deletes likewise. <see cref="DeleteClusterAsync"/> deletes the prefix range.</item>
/// <item><b>Watch</b> — one long-lived watch of the whole cluster prefix per connection, on an HTTP connection of its
/// own (a streaming response of etcd's gateway), created by the first <see cref="WaitForChangeAsync"/> from the revision
/// after the last load and resumed after the last delivered revision whenever it has to be re-created, so no event is
/// lost; it asks etcd to cancel it when the etcd member loses its raft leader (<c>hasleader</c>). A failed stream is
/// re-created after a pause (0.25 s doubling to 2 s, on the <see cref="TimeProvider"/>); a compacted start revision
/// drops the copy, wakes every waiter and re-reads the prefix. The copy is trusted for loads only while the stream is
/// up and a range read issued after the stream was created has been merged into it (the first load after every
/// (re)connect reads from etcd), so events that happened while no stream ran never go missing. Any request of this
/// connection that fails or times out restarts the stream, so a silently broken connection cannot leave loads on an
/// old copy.</item>
/// <item><b>Wait for change</b> — waits for the watch to deliver an event on <c>leader</c>, <c>config</c> or
/// <c>failover</c> newer than the last load (an event delivered since that load wakes at once), or a compaction, or the
/// timeout. A wait sends nothing; members and status do not wake it.</item>
/// </list>
/// <para><b>Errors.</b> Every operation runs under one deadline, <see cref="EtcdDcsOptions.RequestTimeout"/> or the caller's
/// token, whichever ends first. Reads and keep-alives are retried until then while etcd is unavailable; writes are
/// sent once. A failed or timed-out request throws <see cref="DcsUnavailableException"/> naming the endpoints and the
/// operation; a lost race or compare-and-set mismatch returns false/null; the caller's cancellation throws
/// <see cref="OperationCanceledException"/>.</para>
/// </remarks>
public sealed partial class EtcdDcs : IDcs
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);
    // A touch refreshes the lease only when it was confirmed longer ago than ttl / KeepAliveSkipDivisor.
    private const int KeepAliveSkipDivisor = 4;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EtcdGatewayClient _client;
    private readonly TimeSpan _requestTimeout;
    private readonly string _endpoints;
    private readonly string _prefix;
    private readonly byte[] _prefixEnd;
    private readonly string _leaderKey;
    private readonly string _memberKey;
    private readonly EtcdKvCache _cache;

    // Serializes the operations that use the lease (refresh + write), so two of them never grant two leases.
    private readonly SemaphoreSlim _leaseGate = new(1, 1);
    private long _leaseId;           // guarded by _leaseGate; 0 = none yet
    private long _leaseTtlSeconds;   // the TTL asked for when _leaseId was granted
    private long _leaseConfirmedAt;  // guarded by _leaseGate; _time timestamp of sending the grant or keep-alive that last confirmed _leaseId

    private long _loadRevision;      // revision of the last load, 0 before the first
    private long _ownWriteRevision;  // revision of this connection's last write that changed a key
    private LockConfirmation? _lockConfirmation; // etcd's last confirmation of the leader key under a live stream
    private ClusterState? _lastRead;
    private PublishedMember? _published;
    private volatile bool _disposed;

    /// <summary>Creates the connection of member <see cref="EtcdDcsOptions.Name"/> to the cluster <see cref="EtcdDcsOptions.Scope"/>. No I/O happens here.</summary>
    /// <param name="options">The settings; copied, later changes have no effect.</param>
    /// <param name="timeProvider">The clock for request deadlines, retry pauses and wait timeouts.</param>
    /// <param name="logger">Where the adapter logs (see <see cref="EtcdDcsEventId"/>); none when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> do not validate; the message lists every problem.</exception>
    public EtcdDcs(EtcdDcsOptions options, TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid etcd DCS options: " + string.Join(" ", problems), nameof(options));

        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        MemberName = options.Name;
        _requestTimeout = options.RequestTimeout;
        var endpoints = options.ParseEndpoints([]);
        _endpoints = string.Join(",", endpoints.Select(u => u.GetLeftPart(UriPartial.Authority)));
        _prefix = ClusterKeys.Prefix(options.Namespace, options.Scope);
        _prefixEnd = RangeEnd(Encoding.UTF8.GetBytes(_prefix));
        _leaderKey = Key(ClusterKeys.Leader);
        _memberKey = Key(ClusterKeys.Member(MemberName));
        _cache = new EtcdKvCache([_leaderKey, Key(ClusterKeys.Config), Key(ClusterKeys.Failover)]);

        _client = CreateClient(options, endpoints);
        Log.Created(_logger, MemberName, _prefix, _endpoints);
    }

    /// <inheritdoc />
    public string MemberName { get; }

    /// <summary>The cluster prefix, for example <c>/service/batman/</c>.</summary>
    public string Prefix => _prefix;

    /// <inheritdoc />
    /// <remarks>The full <paramref name="ttl"/>: the keep-alive sent within each acquire or renew resets the lease to its TTL, which is at least <paramref name="ttl"/>.</remarks>
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl) => ttl;

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("read the cluster", async ct =>
        {
            if (Volatile.Read(ref _watchLoop) is not null)
            {
                var own = Interlocked.Read(ref _ownWriteRevision);
                var found = _cache.TryRead(own, out var cached, out var cachedRevision);
                if (!found && _cache.IsTrusted)
                {
                    // This connection's own last write is still on its way through the watch.
                    if (await _cache.WaitForRevisionAsync(own, OwnWriteDeliveryWait, _time, ct).ConfigureAwait(false))
                    {
                        found = _cache.TryRead(own, out cached, out cachedRevision);
                    }
                    else if (_cache.IsTrusted)
                    {
                        // The stream is up but silent: it may be stuck, so do not keep answering from it.
                        Log.OwnWriteNotDelivered(_logger, own, OwnWriteDeliveryWait);
                        RestartWatchStream();
                    }
                }
                // The leader answers from the copy only while its lock is confirmed (see LockConfirmedRecently); otherwise
                // it reads etcd, which both confirms the lock for the renewal that follows and makes an outage fail this
                // load (the HA loop then keeps a primary only while its lock is guaranteed).
                if (found && (!HeldByMe(cached) || LockConfirmedRecently())) return Loaded(cached, cachedRevision);
            }
            var sentAt = _time.GetTimestamp();
            var ticket = _cache.BeginRead();
            var response = await RetryWhileUnavailableAsync(c => _client.RangeAsync(_prefix, _prefixEnd, c), ct).ConfigureAwait(false);
            var revision = response.Revision;
            if (!_cache.Merge(response.Kvs, revision, ticket)) StartOverAfterStoreWentBack(revision, ticket.Revision);
            var epoch = _cache.TrustedEpoch;
            if (epoch >= 0) Volatile.Write(ref _lockConfirmation, new LockConfirmation(sentAt, epoch));
            return Loaded(response.Kvs, revision);
        }, cancellationToken);

    private bool HeldByMe(EtcdKeyValue[] kvs)
    {
        foreach (var kv in kvs)
            if (string.Equals(kv.Key, _leaderKey, StringComparison.Ordinal)) return string.Equals(kv.Value, MemberName, StringComparison.Ordinal);
        return false;
    }

    /// <summary>
    /// A linearizable answer from etcd about the leader key, under a live watch stream: a range read merged into the
    /// trusted copy, or a renew txn whose comparison held. When its request was sent, and under which stream.
    /// </summary>
    private sealed record LockConfirmation(long SentAt, long Epoch);

    /// <summary>
    /// Whether the lock at <paramref name="revision"/> is confirmed without a txn: etcd confirmed the leader key (a range
    /// read or a renew txn) less than <c>ttl/4</c> ago, this connection's watch stayed up since, and the copy — including
    /// this connection's own last write — still holds this member's name at that revision under <paramref name="lease"/>.
    /// </summary>
    private bool OwnershipConfirmed(long revision, long lease, TimeSpan ttl)
    {
        if (Volatile.Read(ref _lockConfirmation) is not { } confirmed) return false;
        if (_time.GetElapsedTime(confirmed.SentAt) >= ttl / KeepAliveSkipDivisor) return false;
        return _cache.Confirms(_leaderKey, MemberName, revision, lease, confirmed.Epoch, Interlocked.Read(ref _ownWriteRevision));
    }

    /// <summary>
    /// Whether a leader's load may come from the copy: etcd confirmed the leader key less than <c>ttl/4</c> ago (the
    /// lease's TTL) under the stream that is still up, so the renewal that follows needs no txn either.
    /// </summary>
    /// <remarks>
    /// This halves a leader's requests when loop_wait is less than <c>ttl/4</c> (with ttl 10 and loop_wait 2 every other
    /// cycle reads etcd) and changes nothing otherwise. It does not weaken what the leader knows before it acts as
    /// primary: every renewal still sends a keep-alive, which proves the lease — and so every key bound to it — alive,
    /// and the renewal skips its txn only under the same condition as before (a confirmation by etcd itself younger than
    /// <c>ttl/4</c>, the watch up since and showing the key unchanged). What such a cycle gives up is only the early
    /// failure of the load in an outage: if etcd stops answering, the cycle fails at the renewal's keep-alive (after the
    /// request deadline) instead of at the load, and the HA loop then demotes as for a lost lock rather than riding the
    /// outage out on the lock's remaining validity — which is what Patroni does at every failed cycle.
    /// </remarks>
    private bool LockConfirmedRecently()
    {
        var seconds = Volatile.Read(ref _leaseTtlSeconds);
        if (seconds <= 0 || Volatile.Read(ref _lockConfirmation) is not { } confirmed) return false;
        return confirmed.Epoch == _cache.TrustedEpoch
            && _time.GetElapsedTime(confirmed.SentAt) < TimeSpan.FromSeconds(seconds) / KeepAliveSkipDivisor;
    }

    /// <summary>etcd answered older than it had before (a restore): revisions remembered from before would hold back loads and wake-ups.</summary>
    private void StartOverAfterStoreWentBack(long revision, long known)
    {
        Log.StoreWentBack(_logger, _endpoints, revision, known);
        Interlocked.Exchange(ref _loadRevision, 0);
        Interlocked.Exchange(ref _ownWriteRevision, 0);
        Volatile.Write(ref _published, null);
        Volatile.Write(ref _lockConfirmation, null);
        RestartWatchStream();
    }

    /// <summary>Parses a consistent read of the prefix at <paramref name="revision"/> and records it as the last load.</summary>
    private ClusterState Loaded(IReadOnlyList<EtcdKeyValue> kvs, long revision)
    {
        var entries = new DcsEntry[kvs.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var kv = kvs[i];
            entries[i] = new DcsEntry(
                kv.Key[_prefix.Length..],
                kv.Value,
                Version(kv.ModRevision),
                kv.Lease == 0 ? null : kv.Lease.ToString(CultureInfo.InvariantCulture));
        }
        var state = ClusterStateReader.Read(entries, Volatile.Read(ref _lastRead));
        Volatile.Write(ref _lastRead, state);
        RaiseTo(ref _loadRevision, revision);
        ForgetPublishedMemberIfGone(state, revision);
        return state;
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return RunAsync("acquire the leader lock", ct => WithLeaseAsync(ttl, alwaysKeepAlive: true, async (lease, c) =>
        {
            var response = await _client.TxnAsync(
                [EtcdCompare.CreateRevisionIs(_leaderKey, 0)], [EtcdOp.Put(_leaderKey, MemberName, lease)], [], c).ConfigureAwait(false);
            if (!response.Succeeded) return null;
            Wrote(response.Revision);
            return new LeaderLock(MemberName, Version(response.Revision), Session(lease));
        }, ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return RunAsync("renew the leader lock", async ct =>
        {
            // Another member's lock, or a version that is no etcd revision, can never be ours.
            if (!string.Equals(held.Holder, MemberName, StringComparison.Ordinal)) return null;
            if (!TryParseRevision(held.Version, ClusterKeys.Leader, out var revision)) return null;
            return await WithLeaseAsync(ttl, alwaysKeepAlive: true, async (lease, c) =>
            {
                // The keep-alive just sent renewed the lease; the lock is still bound to it if the recent read says so.
                if (OwnershipConfirmed(revision, lease, ttl)) return new LeaderLock(MemberName, held.Version, Session(lease));
                // The stream the txn's answer is confirmed under must be up from before it was sent.
                var epoch = _cache.TrustedEpoch;
                var sentAt = _time.GetTimestamp();
                var response = await _client.TxnAsync(
                    [ValueIsMine(), EtcdCompare.ModRevisionIs(_leaderKey, revision), EtcdCompare.LeaseIs(_leaderKey, lease)],
                    [], [EtcdOp.Range(_leaderKey)], c).ConfigureAwait(false);
                if (response.Succeeded)
                {
                    if (epoch >= 0) Volatile.Write(ref _lockConfirmation, new LockConfirmation(sentAt, epoch));
                    return new LeaderLock(MemberName, held.Version, Session(lease));
                }

                // Still our name at the same revision, only under another lease: re-bind it to ours (Patroni >= 3.0.3).
                var current = response.Responses.Count > 0 ? response.Responses[0].RangeKvs : null;
                if (current is not { Count: 1 } || current[0].ModRevision != revision || !string.Equals(current[0].Value, MemberName, StringComparison.Ordinal)) return null;
                var rebound = await _client.TxnAsync(
                    [ValueIsMine(), EtcdCompare.ModRevisionIs(_leaderKey, revision)], [EtcdOp.Put(_leaderKey, MemberName, lease)], [], c).ConfigureAwait(false);
                if (!rebound.Succeeded) return null;
                Wrote(rebound.Revision);
                Log.LeaderKeyRebound(_logger, MemberName, current[0].Lease.ToString(CultureInfo.InvariantCulture), lease);
                return new LeaderLock(MemberName, Version(rebound.Revision), Session(lease));
            }, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) =>
        RunAsync("release the leader lock", async ct =>
        {
            var response = await _client.TxnAsync([ValueIsMine()], [EtcdOp.Delete(_leaderKey)], [], ct).ConfigureAwait(false);
            if (response.Succeeded && response.Responses[0].Deleted > 0) Wrote(response.Revision);
            return response.Succeeded;
        }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="self"/> is not this connection's member.</exception>
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (!string.Equals(self.Name, MemberName, StringComparison.Ordinal))
            throw new ArgumentException($"This connection acts for member '{MemberName}', not '{self.Name}'.", nameof(self));
        return RunAsync("publish the member key", ct => WithLeaseAsync(ttl, alwaysKeepAlive: false, async (lease, c) =>
        {
            // A node publishes the same member cycle after cycle: serialize and write only what changed.
            var published = Volatile.Read(ref _published);
            var json = published is not null && published.Member == self ? published.Json : MemberCodec.Serialize(self);
            if (published is not null && published.Lease == lease && string.Equals(published.Json, json, StringComparison.Ordinal))
                return true;
            var revision = await _client.PutAsync(_memberKey, json, lease, c).ConfigureAwait(false);
            Wrote(revision);
            Volatile.Write(ref _published, new PublishedMember(self, json, lease, revision));
            return true;
        }, ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        ArgumentNullException.ThrowIfNull(value);
        return RunAsync($"write {name} ({condition})", async ct =>
        {
            var key = Key(name);
            if (condition.Kind == WriteConditionKind.Always)
            {
                Wrote(await _client.PutAsync(key, value, 0, ct).ConfigureAwait(false));
                return true;
            }
            EtcdCompare compare;
            if (condition.Kind == WriteConditionKind.Absent)
                compare = EtcdCompare.CreateRevisionIs(key, 0);
            else if (TryParseRevision(condition.Version, name, out var revision))
                compare = EtcdCompare.ModRevisionIs(key, revision);
            else
                return false;
            var response = await _client.TxnAsync([compare], [EtcdOp.Put(key, value)], [], ct).ConfigureAwait(false);
            if (response.Succeeded) Wrote(response.Revision);
            return response.Succeeded;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        return RunAsync($"delete {name} ({condition})", async ct =>
        {
            var key = Key(name);
            switch (condition.Kind)
            {
                case WriteConditionKind.Always:
                    var deleted = await _client.DeleteRangeAsync(key, null, ct).ConfigureAwait(false);
                    if (deleted.Deleted > 0) Wrote(deleted.Revision);
                    return deleted.Deleted > 0;
                case WriteConditionKind.VersionMatches when TryParseRevision(condition.Version, name, out var revision):
                    var response = await _client.TxnAsync([EtcdCompare.ModRevisionIs(key, revision)], [EtcdOp.Delete(key)], [], ct).ConfigureAwait(false);
                    var done = response.Succeeded && response.Responses[0].Deleted > 0;
                    if (done) Wrote(response.Revision);
                    return done;
                default:
                    // "Must be absent" never holds for a key being deleted; a foreign version token never matches.
                    return false;
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("delete the cluster", async ct =>
        {
            var response = await _client.DeleteRangeAsync(_prefix, _prefixEnd, ct).ConfigureAwait(false);
            if (response.Deleted > 0) Wrote(response.Revision);
            Volatile.Write(ref _published, null);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The first call starts this connection's watch (see <see cref="EtcdDcs"/>) from the revision after the last
    /// <see cref="LoadClusterAsync"/> (before any load: from the revision it reads first). A wait then only compares the
    /// revision of the last decision-key change the watch delivered with the revision of the last load — a change between
    /// that load and this wait wakes at once — and otherwise awaits the next one; it sends nothing. While etcd is
    /// unreachable the watch is re-created in the background; the wait never throws <see cref="DcsUnavailableException"/>,
    /// so a caller racing it against its own timer is not woken early by an outage, and a change made meanwhile wakes it
    /// once the watch is back.
    /// </remarks>
    public async Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        cancellationToken.ThrowIfCancellationRequested();
        StartWatching();
        try
        {
            return await _cache.WaitForDecisionChangeAsync(Interlocked.Read(ref _loadRevision), timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested && ex.CancellationToken != cancellationToken)
        {
            throw new OperationCanceledException("The wait for a DCS change was cancelled.", ex, cancellationToken);
        }
    }

    /// <summary>
    /// Stops the watch and closes the HTTP connections; later calls throw <see cref="ObjectDisposedException"/>. The lease is
    /// not revoked: its keys expire with it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task? watching;
        lock (_watchGate)
        {
            if (_disposed) return;
            _disposed = true;
            watching = _watchLoop;
        }
        await _stopWatching.CancelAsync().ConfigureAwait(false);
        if (watching is not null) await watching.ConfigureAwait(false);
        _client.Dispose();
        _stopWatching.Dispose();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Lease

    /// <summary>
    /// Refreshes (or grants) the lease — always when <paramref name="alwaysKeepAlive"/>, else only when it was confirmed
    /// longer ago than <c>ttl/4</c> — then runs <paramref name="write"/> with it; a write refused because the lease
    /// vanished in between gets a new lease and one more try.
    /// </summary>
    private async Task<T> WithLeaseAsync<T>(TimeSpan ttl, bool alwaysKeepAlive, Func<long, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        await _leaseGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var lease = await RefreshLeaseAsync(ttl, alwaysKeepAlive, cancellationToken).ConfigureAwait(false);
                try
                {
                    return await write(lease, cancellationToken).ConfigureAwait(false);
                }
                catch (EtcdGatewayException ex) when (attempt == 1 && ex.IsLeaseNotFound)
                {
                    Log.LeaseLost(_logger, lease, MemberName);
                    _leaseId = 0;
                }
            }
        }
        finally
        {
            _leaseGate.Release();
        }
    }

    /// <summary>
    /// Keeps the current lease alive, or grants a new one when there is none, it is gone, or the TTL changed. Without
    /// <paramref name="always"/> a lease confirmed less than <c>ttl/4</c> ago is used as it is: it then lives at least
    /// another <c>3/4 ttl</c>. The confirmation time is when the confirming request was sent, so the lease never lives
    /// shorter than that suggests. Caller holds <see cref="_leaseGate"/>.
    /// </summary>
    private async Task<long> RefreshLeaseAsync(TimeSpan ttl, bool always, CancellationToken cancellationToken)
    {
        var seconds = LeaseSeconds(ttl);
        if (_leaseId != 0 && _leaseTtlSeconds == seconds)
        {
            if (!always && _time.GetElapsedTime(_leaseConfirmedAt) < TimeSpan.FromSeconds(seconds) / KeepAliveSkipDivisor)
                return _leaseId;
            long sent = 0;
            var remaining = await RetryWhileUnavailableAsync(c =>
            {
                sent = _time.GetTimestamp();
                return _client.LeaseKeepAliveOnceAsync(_leaseId, c);
            }, cancellationToken).ConfigureAwait(false);
            if (remaining > 0)
            {
                _leaseConfirmedAt = sent;
                return _leaseId;
            }
            Log.LeaseLost(_logger, _leaseId, MemberName);
        }
        else if (_leaseId != 0)
            Log.LeaseTtlChanged(_logger, _leaseTtlSeconds, seconds, MemberName, _leaseId);

        _leaseId = 0;
        // An extra lease from a retried grant is harmless: it carries no key and expires.
        long grantSent = 0;
        var granted = await RetryWhileUnavailableAsync(c =>
        {
            grantSent = _time.GetTimestamp();
            return _client.LeaseGrantAsync(seconds, c);
        }, cancellationToken).ConfigureAwait(false);
        if (granted.Id == 0)
            throw new EtcdGatewayException(EtcdGatewayException.Unavailable, "lease grant refused: etcd returned no lease id");
        _leaseId = granted.Id;
        Volatile.Write(ref _leaseTtlSeconds, seconds);
        _leaseConfirmedAt = grantSent;
        Log.LeaseGranted(_logger, granted.Id, granted.Ttl, MemberName);
        return granted.Id;
    }

    // The lease TTL is whole seconds; rounding up keeps the lease alive at least ttl.
    private static long LeaseSeconds(TimeSpan ttl) => Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));

    // ---------------------------------------------------------------------------------------------------------------
    // Member bookkeeping

    private sealed record PublishedMember(Member Member, string Json, long Lease, long Revision);

    /// <summary>A read at or after our last member write that no longer shows it as written (deleted, replaced) makes the next touch write again.</summary>
    private void ForgetPublishedMemberIfGone(ClusterState state, long revision)
    {
        var published = Volatile.Read(ref _published);
        if (published is null || revision < published.Revision) return;
        var seen = state.GetMember(MemberName);
        if (seen is not null && seen.Version == Version(published.Revision)) return;
        Interlocked.CompareExchange(ref _published, null, published);
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
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or EtcdGatewayException or HttpRequestException or IOException)
        {
            if (ex is OperationCanceledException oce && oce.CancellationToken == cancellationToken) throw;
            throw new OperationCanceledException($"Cancelled while trying to {operation}.", ex, cancellationToken);
        }
        catch (Exception ex) when (deadline.IsCancellationRequested && ex is OperationCanceledException or EtcdGatewayException or HttpRequestException or IOException)
        {
            var message = $"etcd at {_endpoints} did not answer within {_requestTimeout.TotalSeconds:0.###} s while trying to {operation} (member {MemberName}, {_prefix}).";
            Log.RequestFailed(_logger, _endpoints, operation, message);
            // The watch may be just as stuck: loads must not go on answering from it.
            RestartWatchStream();
            throw new DcsUnavailableException(message, ex);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            var error = Describe(ex);
            Log.RequestFailed(_logger, _endpoints, operation, error);
            RestartWatchStream();
            throw new DcsUnavailableException($"etcd at {_endpoints} failed while trying to {operation} (member {MemberName}, {_prefix}): {error}", ex);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            throw new ObjectDisposedException(nameof(EtcdDcs), $"The etcd DCS connection of member {MemberName} was disposed while trying to {operation}.");
        }
    }

    /// <summary>Retries an idempotent request (read, keep-alive, grant) while etcd answers Unavailable, until the token ends it.</summary>
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
                Log.RequestFailed(_logger, _endpoints, "answer (retrying)", Describe(ex));
            }
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private static bool IsRetryable(Exception ex) => ex switch
    {
        EtcdGatewayException etcd => etcd.IsRetryable,
        _ => ex is HttpRequestException or IOException or SocketException,
    };

    /// <summary>
    /// Failures that mean "the DCS could not be used": every error etcd answered (including permission and protocol
    /// errors, for which the HA loop's DCS-failure path is the safe answer), transport errors, and answers that are not
    /// the gateway's JSON.
    /// </summary>
    private static bool IsTransportFailure(Exception ex) =>
        ex is EtcdGatewayException or HttpRequestException or IOException or SocketException or OperationCanceledException
            or System.Text.Json.JsonException or FormatException;

    private static string Describe(Exception ex) => ex switch
    {
        EtcdGatewayException etcd => $"code {etcd.Code}: {etcd.Detail}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    // ---------------------------------------------------------------------------------------------------------------
    // Building blocks

    private string Key(string relative) => _prefix + relative;

    private EtcdCompare ValueIsMine() => EtcdCompare.ValueIs(_leaderKey, MemberName);

    private static DcsVersion Version(long revision) => new(revision.ToString(CultureInfo.InvariantCulture));

    private static string Session(long lease) => lease.ToString(CultureInfo.InvariantCulture);

    /// <summary>Records the revision of a write of this connection that changed a key, so later loads include it.</summary>
    private void Wrote(long revision) => RaiseTo(ref _ownWriteRevision, revision);

    private static void RaiseTo(ref long field, long value)
    {
        var current = Interlocked.Read(ref field);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref field, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    private bool TryParseRevision(DcsVersion version, string key, out long revision)
    {
        if (long.TryParse(version.Token, NumberStyles.None, CultureInfo.InvariantCulture, out revision) && revision > 0) return true;
        Log.ForeignVersionToken(_logger, version.Token ?? "", key);
        return false;
    }

    /// <summary>The end of the range of every key starting with <paramref name="prefix"/>: the prefix with its last byte incremented.</summary>
    internal static byte[] RangeEnd(byte[] prefix)
    {
        var bytes = (byte[])prefix.Clone();
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return bytes[..(i + 1)];
            }
        }
        return [0]; // every key
    }

    private static EtcdGatewayClient CreateClient(EtcdDcsOptions options, IReadOnlyList<Uri> endpoints)
    {
        // Give up connecting to one endpoint within half the request deadline, so a retry can still reach the next.
        var connectTimeout = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, options.RequestTimeout.Ticks / 2));
        var tls = endpoints[0].Scheme == Uri.UriSchemeHttps ? TlsSettings.Load(options, endpoints) : null;
        return new EtcdGatewayClient(endpoints, connectTimeout, tls is null ? null : tls.Configure, options.Username, options.Password);
    }

    /// <summary>Client certificate and server certificate check for https endpoints.</summary>
    private sealed class TlsSettings
    {
        private readonly X509Certificate2Collection? _trusted;
        private readonly X509Certificate2? _clientCertificate;
        private readonly string[] _hosts;

        private TlsSettings(X509Certificate2Collection? trusted, X509Certificate2? clientCertificate, string[] hosts) =>
            (_trusted, _clientCertificate, _hosts) = (trusted, clientCertificate, hosts);

        public static TlsSettings Load(EtcdDcsOptions options, IReadOnlyList<Uri> endpoints)
        {
            X509Certificate2Collection? trusted = null;
            if (!string.IsNullOrEmpty(options.CaCert))
            {
                trusted = [];
                trusted.ImportFromPemFile(options.CaCert);
            }
            X509Certificate2? client = null;
            if (!string.IsNullOrEmpty(options.Cert))
            {
                client = string.IsNullOrEmpty(options.KeyPassword)
                    ? X509Certificate2.CreateFromPemFile(options.Cert, string.IsNullOrEmpty(options.Key) ? null : options.Key)
                    : X509Certificate2.CreateFromEncryptedPemFile(options.Cert, options.KeyPassword, string.IsNullOrEmpty(options.Key) ? null : options.Key);
            }
            return new TlsSettings(trusted, client, [.. endpoints.Select(u => u.IdnHost)]);
        }

        public void Configure(SslClientAuthenticationOptions ssl)
        {
            if (_clientCertificate is not null) ssl.ClientCertificates = [_clientCertificate];
            ssl.RemoteCertificateValidationCallback = Validate;
        }

        // The certificate must be valid for one of the configured endpoint hosts (as it was under the balanced gRPC
        // channel this client replaced); the chain must end at the configured CA (or a system root when none is
        // configured).
        private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
            using var server = new X509Certificate2(certificate);
            if (!_hosts.Any(h => server.MatchesHostname(h))) return false;
            if (_trusted is null) return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_trusted);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
                foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            return custom.Build(server);
        }
    }
}
