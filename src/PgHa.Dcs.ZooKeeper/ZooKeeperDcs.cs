using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper;

/// <summary>
/// One node's <see cref="IDcs"/> connection to a ZooKeeper ensemble (3.4 or later), wire-compatible with Patroni's
/// <c>zookeeper</c> layout: the same znodes under <c>/&lt;namespace&gt;/&lt;scope&gt;/</c>, values are the same text as
/// on etcd (the leader znode holds the bare member name), and the leader and member znodes are ephemeral znodes of the
/// node's session.
/// </summary>
/// <remarks>
/// <para><b>Creating.</b> <c>new ZooKeeperDcs(options, TimeProvider.System, logger)</c>. The constructor validates the
/// options but does no I/O, so it succeeds while ZooKeeper is down; every operation connects as needed, to the next
/// server of <see cref="ZooKeeperDcsOptions.Hosts"/> when one fails, re-establishing the same session there. One
/// instance per node, shared by the HA loop and the REST API; it is thread-safe. Dispose it on shutdown: the connection
/// is dropped without closing the session, so its znodes expire with it, as when the node crashes (closing it would
/// hand the lock over while PostgreSQL may still run as a primary).</para>
/// <para><b>The contract on ZooKeeper.</b></para>
/// <list type="bullet">
/// <item><b>TTL carrier</b> — one ZooKeeper session per node, its timeout the ttl (Patroni: session timeout = ttl). The
/// session's client pings nothing by itself: the session is kept alive by the node's own requests — every acquire,
/// renewal, member touch and load — and expires a session timeout (rounded up to the server's tick) after the last one
/// the ensemble saw, taking the leader and member znodes with it. That is the etcd lease's behaviour, and what makes a
/// stuck agent lose its lock, which Patroni's background heartbeat would keep. When the ttl changes, a node that holds
/// no lock replaces its session with one of the new timeout; a lock holder keeps its session (and the old timeout)
/// until it loses the lock. A session the server reports expired is replaced by a new one in the same operation; its
/// ephemeral znodes are gone, so a renewal then returns null and the next touch re-creates the member.</item>
/// <item><b>Acquire</b> — create the ephemeral znode <c>leader</c> with this member's name (creating missing parents);
/// <c>NodeExists</c> means another holds it. The lock's version is the znode's <c>czxid</c>: unique per creation, so a
/// lock released and taken again is a different lock. Its session is the owning session id.</item>
/// <item><b>Renew</b> — <c>sync</c> and <c>getData(leader)</c>, pipelined: the lock is still ours when the znode holds
/// this name, has the same <c>czxid</c> and is owned by the current session. The requests also refresh the session.
/// When it holds this name at that <c>czxid</c> but another session owns it (this node before a restart within the
/// session timeout, or a Patroni node of the same name), it is deleted at the version read and created under the
/// current session in one multi, as Patroni re-creates a leader znode whose owner is not its session; a change in
/// between fails the multi, a lost race. The returned lock carries the new <c>czxid</c>.</item>
/// <item><b>Release</b> — read the leader znode; delete it at the version read if it holds this member's name.</item>
/// <item><b>Touch member</b> — set the data of the ephemeral <c>members/&lt;name&gt;</c> when it changed, create it when
/// the session has none (deleting one left by an older session of the same name first), else a ping: a touch always
/// refreshes the session.</item>
/// <item><b>Load</b> — one pipelined batch: <c>getData</c> of each of Patroni's keys, <c>getChildren(members)</c> and
/// <c>exists</c> with a watch on <c>leader</c>, <c>config</c> and <c>failover</c>; then <c>getData</c> of every member.
/// ZooKeeper has no multi-key snapshot read; one server answers the session's requests in order, so the batch sees
/// that server's state as of a few milliseconds, like Patroni's per-key reads. Version = znode <c>version</c> (the
/// leader: <c>czxid</c>), session = <c>ephemeralOwner</c>.</item>
/// <item><b>Cluster keys</b> — <see cref="WriteCondition.Always"/>: setData at any version, or create;
/// <see cref="WriteCondition.IfAbsent"/>: create; <see cref="WriteCondition.IfVersion"/>: setData/delete at that znode
/// version (Patroni's CAS). <see cref="DeleteClusterAsync"/> deletes the cluster's znode tree.</item>
/// <item><b>Wait for change</b> — the watches each load sets on <c>leader</c>, <c>config</c> and <c>failover</c> (creation,
/// change or deletion, an expiry's included), a lost connection and an expired session wake it; a change since the last
/// load wakes at once. A wait sends nothing.</item>
/// </list>
/// <para><b>Errors.</b> Every operation runs under one deadline, <see cref="ZooKeeperDcsOptions.RequestTimeout"/> or the
/// caller's token, whichever ends first. Reads and idempotent writes are retried on a lost connection or expired
/// session until then; other writes are sent once. A failed or timed-out request throws
/// <see cref="DcsUnavailableException"/> naming the hosts, the operation and ZooKeeper's error; a lost race or
/// compare-and-set mismatch returns false/null; the caller's cancellation throws <see cref="OperationCanceledException"/>.
/// A request that timed out drops its connection, so the next operation starts afresh, on the next server.</para>
/// </remarks>
public sealed class ZooKeeperDcs : IDcs
{
    private static readonly string[] DataKeys =
    [
        ClusterKeys.Initialize, ClusterKeys.Config, ClusterKeys.Leader, ClusterKeys.Status, ClusterKeys.Failover,
        ClusterKeys.Sync, ClusterKeys.History, ClusterKeys.Failsafe, ClusterKeys.LegacyOptime,
    ];
    private static readonly string[] DecisionKeys = [ClusterKeys.Leader, ClusterKeys.Config, ClusterKeys.Failover];
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ZooKeeperClient _client;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _tick;
    private readonly string _hosts;
    private readonly string _prefix;
    private readonly string _base;
    private readonly string _leaderPath;
    private readonly string _membersPath;
    private readonly string _memberPath;
    private readonly HashSet<string> _decisionPaths;
    private readonly SemaphoreSlim _sessionGate = new(1, 1);

    private volatile bool _holdsLock;
    private long _warnedSession;
    private PublishedMember? _published;
    private ClusterState? _lastRead;
    private long _changes;
    private long _changesAtLoad;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _disposed;

    /// <summary>Creates the connection of member <see cref="ZooKeeperDcsOptions.Name"/> to the cluster <see cref="ZooKeeperDcsOptions.Scope"/>. No I/O happens here.</summary>
    /// <param name="options">The settings; copied, later changes have no effect.</param>
    /// <param name="timeProvider">The clock for request deadlines, retry pauses and wait timeouts.</param>
    /// <param name="logger">Where the adapter logs (see <see cref="ZooKeeperDcsEventId"/>); none when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> do not validate; the message lists every problem.</exception>
    public ZooKeeperDcs(ZooKeeperDcsOptions options, TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid ZooKeeper DCS options: " + string.Join(" ", problems), nameof(options));

        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        MemberName = options.Name;
        _requestTimeout = options.RequestTimeout;
        _tick = options.ServerTickTime;
        var hosts = options.ParseHosts([]);
        _hosts = string.Join(",", hosts.Select(h => $"{h.Host}:{h.Port.ToString(CultureInfo.InvariantCulture)}"));
        _prefix = ClusterKeys.Prefix(options.Namespace, options.Scope);
        _base = _prefix.TrimEnd('/');
        _leaderPath = PathOf(ClusterKeys.Leader);
        _membersPath = _base + "/" + ClusterKeys.MembersPrefix.TrimEnd('/');
        _memberPath = PathOf(ClusterKeys.Member(MemberName));
        _decisionPaths = new HashSet<string>(DecisionKeys.Select(PathOf), StringComparer.Ordinal);

        _client = new ZooKeeperClient(new ZooKeeperClientOptions
        {
            Hosts = hosts,
            SessionTimeout = options.Ttl,
            ConnectTimeout = options.ConnectTimeout ?? TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, options.RequestTimeout.Ticks / 4)),
            // A server that leaves a request unanswered for half the request deadline is given up for the next one.
            ReadTimeout = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(500).Ticks, options.RequestTimeout.Ticks / 2)),
            PingInterval = null,
            Auth = [.. (options.AuthData ?? []).Select(a => KeyValuePair.Create(a.Key, Encoding.UTF8.GetBytes(a.Value)))],
        }, timeProvider, _logger);
        _client.WatchTriggered += OnWatch;
        _client.StateChanged += OnStateChanged;
        Log.Created(_logger, MemberName, _prefix, _hosts);
    }

    /// <inheritdoc />
    public string MemberName { get; }

    /// <summary>The cluster path with a trailing slash, for example <c>/service/batman/</c>.</summary>
    public string Prefix => _prefix;

    /// <summary>The id of the current ZooKeeper session, 0 without one.</summary>
    public long SessionId => _client.SessionId;

    /// <summary>The server the session is connected to right now, null while disconnected (tests).</summary>
    internal System.Net.DnsEndPoint? ConnectedServer => _client.ConnectedServer;

    /// <inheritdoc />
    /// <remarks>
    /// <para>The negotiated session timeout (at most <paramref name="ttl"/>) less one server tick
    /// (<see cref="ZooKeeperDcsOptions.ServerTickTime"/>). Why that is a guarantee: a successful acquire or renewal was
    /// answered, so the server that received it touched the session on receipt — after it was sent — and the ensemble
    /// expires a session only once its leader has seen no touch for the whole timeout (rounded <i>up</i> to a tick
    /// boundary, never down). A server that is not the ensemble leader relays its clients' touches to the leader with
    /// its next answer to the leader's ping, every half tick; the renewal's <c>sync</c> passed through the leader, so
    /// that link was up when the renewal was answered. The tick subtracted covers that relay. The remaining risk is a
    /// server cut off from the leader in the half tick after answering the renewal and this node then failing to renew
    /// elsewhere: the leader would count from the renewal before. Nothing here keeps the session alive in the
    /// background, so nothing outlives the agent: a frozen or partitioned agent's lock ends with its session.</para>
    /// </remarks>
    public TimeSpan GuaranteedLockValidity(TimeSpan ttl)
    {
        var granted = _client.NegotiatedTimeout is { } negotiated && negotiated < ttl ? negotiated : ttl;
        var validity = granted - _tick;
        return validity > TimeSpan.Zero ? validity : TimeSpan.Zero;
    }

    /// <inheritdoc />
    public Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("read the cluster", ct => RetryAsync(async c =>
        {
            Interlocked.Exchange(ref _changesAtLoad, Interlocked.Read(ref _changes));
            await EnsureSessionAsync(null, c).ConfigureAwait(false);
            var watches = DecisionKeys.Select(k => _client.ExistsAsync(PathOf(k), watch: true, c)).ToArray();
            var data = DataKeys.Select(k => GetDataOrNullAsync(PathOf(k), c)).ToArray();
            var children = GetChildrenOrNullAsync(_membersPath, c);
            await Task.WhenAll([.. watches, .. data, children]).ConfigureAwait(false);

            var names = (await children.ConfigureAwait(false)) ?? [];
            var members = names.Select(n => GetDataOrNullAsync(_membersPath + "/" + n, c)).ToArray();
            await Task.WhenAll(members).ConfigureAwait(false);

            var entries = new List<DcsEntry>(DataKeys.Length + names.Count);
            for (var i = 0; i < DataKeys.Length; i++)
            {
                if (await data[i].ConfigureAwait(false) is not var (value, stat)) continue;
                var version = DataKeys[i] == ClusterKeys.Leader ? LockVersion(stat.Czxid) : Version(stat.Version);
                entries.Add(new DcsEntry(DataKeys[i], Decode(value), version, Session(stat.EphemeralOwner)));
            }
            for (var i = 0; i < names.Count; i++)
            {
                if (await members[i].ConfigureAwait(false) is not var (value, stat)) continue;
                entries.Add(new DcsEntry(ClusterKeys.Member(names[i]), Decode(value), Version(stat.Version), Session(stat.EphemeralOwner)));
            }
            var state = ClusterStateReader.Read(entries, Volatile.Read(ref _lastRead));
            Volatile.Write(ref _lastRead, state);
            ForgetPublishedMemberIfGone(entries);
            return state;
        }, ct), cancellationToken);

    /// <inheritdoc />
    public Task<LeaderLock?> TryAcquireLeaderLockAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return RunAsync("acquire the leader lock", async ct =>
        {
            var attempt = 0;
            return await RetryAsync(async c =>
            {
                attempt++;
                await EnsureSessionAsync(ttl, c).ConfigureAwait(false);
                var session = _client.SessionId;
                try
                {
                    var (_, stat) = await CreateWithParentsAsync(_leaderPath, Encoding.UTF8.GetBytes(MemberName), ZooKeeperCreateMode.Ephemeral, c).ConfigureAwait(false);
                    _holdsLock = true;
                    return new LeaderLock(MemberName, LockVersion(stat.Czxid), Session(stat.EphemeralOwner));
                }
                catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NodeExists)
                {
                    if (attempt == 1) return null;
                    // An earlier attempt whose answer was lost may have created it: ours if this session owns it.
                    if (await GetDataOrNullAsync(_leaderPath, c).ConfigureAwait(false) is var (value, stat)
                        && stat.EphemeralOwner == session && Decode(value) == MemberName)
                    {
                        _holdsLock = true;
                        return new LeaderLock(MemberName, LockVersion(stat.Czxid), Session(stat.EphemeralOwner));
                    }
                    return null;
                }
            }, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LeaderLock?> TryRenewLeaderLockAsync(LeaderLock held, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var recreated = false;
        return RunAsync("renew the leader lock", ct => RetryAsync(async c =>
        {
            if (!string.Equals(held.Holder, MemberName, StringComparison.Ordinal)) return null;
            if (!TryParseLockVersion(held.Version, out var czxid)) return null;
            await EnsureSessionAsync(ttl, c).ConfigureAwait(false);
            var session = _client.SessionId;
            // The sync goes through the ensemble leader, and the read after it sees at least its state.
            var synced = _client.SyncAsync(_leaderPath, c);
            var read = GetDataOrNullAsync(_leaderPath, c);
            await Task.WhenAll(synced, read).ConfigureAwait(false);
            if (await read.ConfigureAwait(false) is not var (value, stat) || Decode(value) != MemberName)
            {
                _holdsLock = false;
                return null;
            }
            if (stat.Czxid == czxid && stat.EphemeralOwner == session)
            {
                _holdsLock = true;
                return new LeaderLock(MemberName, LockVersion(stat.Czxid), Session(stat.EphemeralOwner));
            }
            // A re-creation this call sent whose answer was lost: the znode this session now owns is that one.
            if (recreated && stat.EphemeralOwner == session)
            {
                _holdsLock = true;
                return new LeaderLock(MemberName, LockVersion(stat.Czxid), Session(stat.EphemeralOwner));
            }
            if (stat.Czxid != czxid || stat.EphemeralOwner == session)
            {
                _holdsLock = false;
                return null;
            }
            recreated = true;
            return await RecreateLeaderAsync(stat, session, c).ConfigureAwait(false);
        }, ct), cancellationToken);
    }

    /// <summary>
    /// Takes over the leader znode that holds this member's name but is owned by another session — this node's own
    /// before a restart within the session timeout, or a Patroni node of the same name — as Patroni does when the
    /// owner differs from its session: delete it, at the version read, and create it under this session, in one atomic
    /// multi. Another member's change in between (a deletion, a new lock) fails the multi: a lost race, null.
    /// </summary>
    /// <remarks>
    /// ZooKeeper compares only the data version, and a leader znode nobody writes after creating it (PgHa's, Patroni's)
    /// always has version 0: if the old session expired and another member created its own znode in the one round trip
    /// between the read and the multi, the multi would replace that lock. The read just before went through the
    /// ensemble leader (sync), so that window is one round trip at the very end of the old session's timeout; Patroni's
    /// own re-creation deletes without any version.
    /// </remarks>
    private async Task<LeaderLock?> RecreateLeaderAsync(ZooKeeperStat stat, long session, CancellationToken ct)
    {
        var results = await _client.MultiAsync(
            [new ZooKeeperOp.Delete(_leaderPath, stat.Version), new ZooKeeperOp.Create(_leaderPath, Encoding.UTF8.GetBytes(MemberName), ZooKeeperCreateMode.Ephemeral)],
            ct).ConfigureAwait(false);
        if (results.FirstOrDefault(r => r.Error is not (ZooKeeperErrorCode.Ok or ZooKeeperErrorCode.RuntimeInconsistency)) is { } failed)
        {
            // Deleted, changed or re-created by someone else since the read: a lost race.
            if (failed.Error is ZooKeeperErrorCode.NoNode or ZooKeeperErrorCode.BadVersion or ZooKeeperErrorCode.NodeExists)
            {
                _holdsLock = false;
                return null;
            }
            throw new ZooKeeperException(failed.Error, _leaderPath, "re-creating the leader znode");
        }
        Log.LeaderZnodeRecreated(_logger, MemberName, stat.EphemeralOwner, session);
        if (await GetDataOrNullAsync(_leaderPath, ct).ConfigureAwait(false) is not var (_, created) || created.EphemeralOwner != session)
        {
            // Our session lost it again before the read (expired): no lock.
            _holdsLock = false;
            return null;
        }
        _holdsLock = true;
        return new LeaderLock(MemberName, LockVersion(created.Czxid), Session(created.EphemeralOwner));
    }

    /// <inheritdoc />
    public Task<bool> ReleaseLeaderLockAsync(CancellationToken cancellationToken) =>
        RunAsync("release the leader lock", async ct =>
        {
            await EnsureSessionAsync(null, ct).ConfigureAwait(false);
            var read = await RetryAsync(c => GetDataOrNullAsync(_leaderPath, c), ct).ConfigureAwait(false);
            if (read is not var (value, stat) || Decode(value) != MemberName) return false;
            try
            {
                await _client.DeleteAsync(_leaderPath, stat.Version, ct).ConfigureAwait(false);
            }
            catch (ZooKeeperException ex) when (ex.Code is ZooKeeperErrorCode.NoNode or ZooKeeperErrorCode.BadVersion)
            {
                return false;
            }
            _holdsLock = false;
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="self"/> is not this connection's member.</exception>
    public Task TouchMemberAsync(Member self, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        if (!string.Equals(self.Name, MemberName, StringComparison.Ordinal))
            throw new ArgumentException($"This connection acts for member '{MemberName}', not '{self.Name}'.", nameof(self));
        return RunAsync("publish the member key", ct => RetryAsync(async c =>
        {
            await EnsureSessionAsync(ttl, c).ConfigureAwait(false);
            var session = _client.SessionId;
            var published = Volatile.Read(ref _published);
            var json = published is not null && published.Member == self ? published.Json : MemberCodec.Serialize(self);
            if (published is not null && published.Session == session && string.Equals(published.Json, json, StringComparison.Ordinal))
            {
                // Nothing to write, but a touch refreshes the session.
                await _client.PingAsync(c).ConfigureAwait(false);
                return true;
            }
            var data = Encoding.UTF8.GetBytes(json);
            if (published is not null && published.Session == session)
            {
                try
                {
                    await _client.SetDataAsync(_memberPath, data, -1, c).ConfigureAwait(false);
                    Volatile.Write(ref _published, new PublishedMember(self, json, session));
                    return true;
                }
                catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
                {
                    // Deleted behind our back (pgha ctl remove): create it again.
                }
            }
            await CreateMemberAsync(data, session, c).ConfigureAwait(false);
            Volatile.Write(ref _published, new PublishedMember(self, json, session));
            return true;
        }, ct), cancellationToken);
    }

    private async Task CreateMemberAsync(byte[] data, long session, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CreateWithParentsAsync(_memberPath, data, ZooKeeperCreateMode.Ephemeral, ct).ConfigureAwait(false);
                return;
            }
            catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NodeExists && attempt < 3)
            {
                var stat = await _client.ExistsAsync(_memberPath, watch: false, ct).ConfigureAwait(false);
                if (stat is { } s && s.EphemeralOwner == session)
                {
                    await _client.SetDataAsync(_memberPath, data, -1, ct).ConfigureAwait(false);
                    return;
                }
                // Left by an older session of this member (or a Patroni node of the same name): replace it, as Patroni does.
                try
                {
                    await _client.DeleteAsync(_memberPath, -1, ct).ConfigureAwait(false);
                }
                catch (ZooKeeperException gone) when (gone.Code == ZooKeeperErrorCode.NoNode)
                {
                }
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> TryWriteAsync(ClusterKey key, string value, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        ArgumentNullException.ThrowIfNull(value);
        var path = PathOf(name);
        var data = Encoding.UTF8.GetBytes(value);
        return RunAsync($"write {name} ({condition})", async ct =>
        {
            await EnsureSessionAsync(null, ct).ConfigureAwait(false);
            switch (condition.Kind)
            {
                case WriteConditionKind.Always:
                    // Idempotent: retried on a lost connection.
                    return await RetryAsync(async c =>
                    {
                        try
                        {
                            await _client.SetDataAsync(path, data, -1, c).ConfigureAwait(false);
                            return true;
                        }
                        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
                        {
                        }
                        try
                        {
                            await CreateWithParentsAsync(path, data, ZooKeeperCreateMode.Persistent, c).ConfigureAwait(false);
                        }
                        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NodeExists)
                        {
                            await _client.SetDataAsync(path, data, -1, c).ConfigureAwait(false);
                        }
                        return true;
                    }, ct).ConfigureAwait(false);
                case WriteConditionKind.Absent:
                    try
                    {
                        await CreateWithParentsAsync(path, data, ZooKeeperCreateMode.Persistent, ct).ConfigureAwait(false);
                        return true;
                    }
                    catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NodeExists)
                    {
                        return false;
                    }
                default:
                    if (!TryParseVersion(condition.Version, name, out var version)) return false;
                    try
                    {
                        await _client.SetDataAsync(path, data, version, ct).ConfigureAwait(false);
                        return true;
                    }
                    catch (ZooKeeperException ex) when (ex.Code is ZooKeeperErrorCode.BadVersion or ZooKeeperErrorCode.NoNode)
                    {
                        return false;
                    }
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryDeleteAsync(ClusterKey key, WriteCondition condition, CancellationToken cancellationToken)
    {
        var name = ClusterKeyNames.Of(key);
        var path = PathOf(name);
        return RunAsync($"delete {name} ({condition})", async ct =>
        {
            int version;
            switch (condition.Kind)
            {
                case WriteConditionKind.Always:
                    version = -1;
                    break;
                case WriteConditionKind.VersionMatches when TryParseVersion(condition.Version, name, out var parsed):
                    version = parsed;
                    break;
                default:
                    // "Must be absent" never holds for a key being deleted; a foreign version token never matches.
                    return false;
            }
            await EnsureSessionAsync(null, ct).ConfigureAwait(false);
            try
            {
                await _client.DeleteAsync(path, version, ct).ConfigureAwait(false);
                return true;
            }
            catch (ZooKeeperException ex) when (ex.Code is ZooKeeperErrorCode.BadVersion or ZooKeeperErrorCode.NoNode)
            {
                return false;
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task DeleteClusterAsync(CancellationToken cancellationToken) =>
        RunAsync("delete the cluster", async ct =>
        {
            await EnsureSessionAsync(null, ct).ConfigureAwait(false);
            await RetryAsync(async c =>
            {
                await DeleteTreeAsync(_base, c).ConfigureAwait(false);
                return true;
            }, ct).ConfigureAwait(false);
            Volatile.Write(ref _published, null);
            _holdsLock = false;
            return true;
        }, cancellationToken);

    private async Task DeleteTreeAsync(string path, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var children = await GetChildrenOrNullAsync(path, ct).ConfigureAwait(false);
            if (children is null) return;
            foreach (var child in children) await DeleteTreeAsync(path + "/" + child, ct).ConfigureAwait(false);
            try
            {
                await _client.DeleteAsync(path, -1, ct).ConfigureAwait(false);
                return;
            }
            catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
            {
                return;
            }
            catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NotEmpty && attempt < 5)
            {
                // A node (re)created a child meanwhile: delete it too.
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Woken by the watches the last <see cref="LoadClusterAsync"/> set on <c>leader</c>, <c>config</c> and
    /// <c>failover</c>, and by a lost connection or an expired session (either may hide a change); a change since the
    /// start of the last load wakes at once. Sends nothing and never throws <see cref="DcsUnavailableException"/>.
    /// </remarks>
    public async Task<bool> WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or infinite.");
        cancellationToken.ThrowIfCancellationRequested();
        var changed = Volatile.Read(ref _changed);
        if (Interlocked.Read(ref _changes) != Interlocked.Read(ref _changesAtLoad)) return true;
        try
        {
            await changed.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Drops the connection without closing the session (its znodes expire with it); later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _client.WatchTriggered -= OnWatch;
        _client.StateChanged -= OnStateChanged;
        await _client.DisposeAsync().ConfigureAwait(false);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Session

    /// <summary>
    /// Connects (re-establishing the session, or creating one with the ttl's timeout). A changed ttl replaces the session
    /// of a node that holds no lock; a lock holder keeps its session, whose timeout still bounds the lock.
    /// </summary>
    private async Task EnsureSessionAsync(TimeSpan? ttl, CancellationToken ct)
    {
        if (ttl is { } wanted && wanted != _client.SessionTimeout)
        {
            await _sessionGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var old = _client.SessionTimeout;
                if (wanted != old)
                {
                    _client.SessionTimeout = wanted;
                    if (_client.SessionId != 0 && !_holdsLock)
                    {
                        Log.SessionRestartedForTtl(_logger, old, wanted, MemberName);
                        await _client.CloseSessionAsync(ct).ConfigureAwait(false);
                        Volatile.Write(ref _published, null);
                    }
                }
            }
            finally
            {
                _sessionGate.Release();
            }
        }
        await _client.ConnectAsync(ct).ConfigureAwait(false);
        var session = _client.SessionId;
        if (_client.NegotiatedTimeout is { } granted && granted != _client.SessionTimeout && Interlocked.Exchange(ref _warnedSession, session) != session)
            Log.TimeoutNegotiatedAway(_logger, _client.SessionTimeout, granted);
    }

    private void OnStateChanged(ZooKeeperSessionState state, long session)
    {
        if (state is ZooKeeperSessionState.Expired or ZooKeeperSessionState.Closed)
        {
            _holdsLock = false;
            Volatile.Write(ref _published, null);
        }
        if (state is ZooKeeperSessionState.Expired or ZooKeeperSessionState.Disconnected) SignalChange();
    }

    private void OnWatch(ZooKeeperWatchEvent e)
    {
        if (_decisionPaths.Contains(e.Path)) SignalChange();
    }

    private void SignalChange()
    {
        Interlocked.Increment(ref _changes);
        var previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Member bookkeeping

    private sealed record PublishedMember(Member Member, string Json, long Session);

    /// <summary>A read that no longer shows our member znode as written by this session makes the next touch write again.</summary>
    private void ForgetPublishedMemberIfGone(List<DcsEntry> entries)
    {
        var published = Volatile.Read(ref _published);
        if (published is null) return;
        var key = ClusterKeys.Member(MemberName);
        var seen = entries.Find(e => e.Key == key);
        if (seen is not null && seen.Session == Session(published.Session) && seen.Value == published.Json) return;
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
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && IsFailure(ex))
        {
            if (ex is OperationCanceledException oce && oce.CancellationToken == cancellationToken) throw;
            throw new OperationCanceledException($"Cancelled while trying to {operation}.", ex, cancellationToken);
        }
        catch (Exception ex) when (deadline.IsCancellationRequested && IsFailure(ex))
        {
            var message = $"ZooKeeper at {_hosts} did not answer within {_requestTimeout.TotalSeconds:0.###} s while trying to {operation} (member {MemberName}, {_prefix})"
                + (ex is OperationCanceledException && ex.Message.StartsWith("Could not connect", StringComparison.Ordinal) ? $": {ex.Message}" : ".");
            Log.RequestFailed(_logger, _hosts, operation, message);
            // The server may be stuck: the next operation starts on a fresh connection (and the next server).
            _client.DropConnection("a request timed out");
            throw new DcsUnavailableException(message, ex);
        }
        catch (Exception ex) when (IsFailure(ex) && ex is not OperationCanceledException)
        {
            Log.RequestFailed(_logger, _hosts, operation, ex.Message);
            throw new DcsUnavailableException($"ZooKeeper at {_hosts} failed while trying to {operation} (member {MemberName}, {_prefix}): {ex.Message}", ex);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            throw new ObjectDisposedException(nameof(ZooKeeperDcs), $"The ZooKeeper DCS connection of member {MemberName} was disposed while trying to {operation}.");
        }
    }

    private static bool IsFailure(Exception ex) =>
        ex is ZooKeeperException or ZooKeeperProtocolException or IOException or TimeoutException or OperationCanceledException;

    /// <summary>Retries an idempotent step on a lost connection or an expired session until the token ends it.</summary>
    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> step, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return await step(ct).ConfigureAwait(false);
            }
            catch (ZooKeeperException ex) when (!ct.IsCancellationRequested && (ex.IsConnectionProblem || ex.Code == ZooKeeperErrorCode.SessionExpired))
            {
                Log.RequestFailed(_logger, _hosts, "answer (retrying)", ex.Message);
            }
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private async Task<(byte[] Data, ZooKeeperStat Stat)?> GetDataOrNullAsync(string path, CancellationToken ct)
    {
        try
        {
            return await _client.GetDataAsync(path, watch: false, ct).ConfigureAwait(false);
        }
        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
        {
            return null;
        }
    }

    private async Task<IReadOnlyList<string>?> GetChildrenOrNullAsync(string path, CancellationToken ct)
    {
        try
        {
            return (await _client.GetChildrenAsync(path, watch: false, ct).ConfigureAwait(false)).Children;
        }
        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
        {
            return null;
        }
    }

    /// <summary>Creates <paramref name="path"/>, creating its missing ancestors (persistent, empty) first, as kazoo's <c>makepath</c>.</summary>
    private async Task<(string Path, ZooKeeperStat Stat)> CreateWithParentsAsync(string path, byte[] data, ZooKeeperCreateMode mode, CancellationToken ct)
    {
        try
        {
            return await _client.CreateAsync(path, data, mode, ct).ConfigureAwait(false);
        }
        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
        {
        }
        var parent = path[..path.LastIndexOf('/')];
        for (var end = parent.IndexOf('/', 1); ; end = parent.IndexOf('/', end + 1))
        {
            var ancestor = end < 0 ? parent : parent[..end];
            try
            {
                await _client.CreateAsync(ancestor, [], ZooKeeperCreateMode.Persistent, ct).ConfigureAwait(false);
            }
            catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NodeExists)
            {
            }
            if (end < 0) break;
        }
        return await _client.CreateAsync(path, data, mode, ct).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Building blocks

    private string PathOf(string relative) => _base + "/" + relative;

    private static string Decode(byte[] data) => Encoding.UTF8.GetString(data);

    private static DcsVersion Version(int version) => new(version.ToString(CultureInfo.InvariantCulture));

    // The leader's token names its creation, not its data version (always 0): a lock taken again is another lock.
    private static DcsVersion LockVersion(long czxid) => new("c" + czxid.ToString(CultureInfo.InvariantCulture));

    private static string? Session(long owner) => owner == 0 ? null : owner.ToString(CultureInfo.InvariantCulture);

    private static bool TryParseLockVersion(DcsVersion version, out long czxid)
    {
        czxid = 0;
        return version.Token is { Length: > 1 } token && token[0] == 'c'
            && long.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out czxid);
    }

    private bool TryParseVersion(DcsVersion version, string key, out int parsed)
    {
        if (int.TryParse(version.Token, NumberStyles.None, CultureInfo.InvariantCulture, out parsed)) return true;
        Log.ForeignVersionToken(_logger, version.Token ?? "", key);
        return false;
    }
}
