using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>
/// A client of ZooKeeper's binary protocol (3.4 or later; tested against 3.8), written for PgHa: one session over one
/// connection at a time, to any server of the ensemble.
/// </summary>
/// <remarks>
/// <para><b>Session.</b> Created by the first request (or <see cref="ConnectAsync"/>) with
/// <see cref="ZooKeeperClientOptions.SessionTimeout"/>; the server's negotiated timeout is <see cref="NegotiatedTimeout"/>.
/// When a connection fails (socket error, protocol error, or no answer within the read timeout) every pending request
/// fails with <see cref="ZooKeeperErrorCode.ConnectionLoss"/> and the next request connects to the next server in
/// <see cref="ZooKeeperClientOptions.Hosts"/>, re-establishing the session with its id, password and the last zxid
/// seen, then re-authenticating and re-setting every watch (setWatches, relative to that zxid, so changes made while
/// disconnected fire at once). A server that answers the session has expired is reported as
/// <see cref="ZooKeeperSessionState.Expired"/> (ephemeral znodes and watches are gone), and a new session is created
/// in its place by the same request.</para>
/// <para><b>Requests.</b> Every call takes a token that cancels it (the deadline is the caller's); a cancelled request
/// whose reply comes later is ignored. Errors throw <see cref="ZooKeeperException"/> with the server's code. A
/// connection failure is never retried here: the caller knows which requests are idempotent.</para>
/// <para><b>Keep-alive.</b> Without <see cref="ZooKeeperClientOptions.PingInterval"/> the client sends nothing on its
/// own, so the session lives exactly a session timeout past the last request the server received; the ZooKeeper DCS
/// adapter relies on this (see <c>ZooKeeperDcs</c>).</para>
/// </remarks>
internal sealed class ZooKeeperClient : IAsyncDisposable
{
    private static readonly byte[] NoPassword = new byte[16];

    private readonly ZooKeeperClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly Lock _watchGate = new();
    private readonly HashSet<string> _dataWatches = new(StringComparer.Ordinal);
    private readonly HashSet<string> _existWatches = new(StringComparer.Ordinal);
    private readonly HashSet<string> _childWatches = new(StringComparer.Ordinal);
    private volatile ZooKeeperConnection? _connection;
    private long _sessionId;
    private byte[] _password = NoPassword;
    private long _negotiatedTicks;
    private long _lastZxid;
    private int _nextHost;
    private volatile bool _disposed;

    public ZooKeeperClient(ZooKeeperClientOptions options, TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Hosts.Count == 0) throw new ArgumentException("At least one ZooKeeper host is required.", nameof(options));
        _options = options;
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>A watch fired. Runs on the connection's read loop: handlers must be quick and must not throw.</summary>
    public event Action<ZooKeeperWatchEvent>? WatchTriggered;

    /// <summary>The session's state changed. Runs on the thread that noticed: handlers must be quick and must not throw.</summary>
    public event Action<ZooKeeperSessionState, long>? StateChanged;

    /// <summary>The current session, 0 before the first connect and after an expiry or close.</summary>
    public long SessionId => Interlocked.Read(ref _sessionId);

    /// <summary>The session timeout the server granted for <see cref="SessionId"/>; null without a session.</summary>
    public TimeSpan? NegotiatedTimeout => Interlocked.Read(ref _negotiatedTicks) is > 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>The server of the current connection, null while disconnected.</summary>
    public DnsEndPoint? ConnectedServer => _connection is { IsAlive: true } c ? c.Endpoint : null;

    /// <summary>The newest transaction id seen in a reply.</summary>
    public long LastZxid => Interlocked.Read(ref _lastZxid);

    /// <summary>The session timeout asked for by the next new session.</summary>
    public TimeSpan SessionTimeout
    {
        get => _options.SessionTimeout;
        set => _options.SessionTimeout = value;
    }

    /// <summary>Connects (re-establishing or creating the session) unless connected.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken) => await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Creates <paramref name="path"/> (create2): the created path (sequential modes append a counter) and its stat.</summary>
    public async Task<(string Path, ZooKeeperStat Stat)> CreateAsync(string path, byte[] data, ZooKeeperCreateMode mode, CancellationToken cancellationToken,
        IReadOnlyList<ZooKeeperAcl>? acl = null)
    {
        var body = await CallAsync(ZooKeeperOpCode.Create2, path, w => WriteCreate(w, path, data, acl ?? ZooKeeperAcl.OpenUnsafe, mode), cancellationToken).ConfigureAwait(false);
        return (body.ReadString() ?? path, body.ReadStat());
    }

    /// <summary>Deletes <paramref name="path"/> if its version is <paramref name="version"/> (−1: any version).</summary>
    public async Task DeleteAsync(string path, int version, CancellationToken cancellationToken) =>
        await CallAsync(ZooKeeperOpCode.Delete, path, w =>
        {
            w.WriteString(path);
            w.WriteInt(version);
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>The stat of <paramref name="path"/>, null when it does not exist; with <paramref name="watch"/> a one-shot watch fires on its creation, deletion or data change.</summary>
    public async Task<ZooKeeperStat?> ExistsAsync(string path, bool watch, CancellationToken cancellationToken)
    {
        try
        {
            var body = await CallAsync(ZooKeeperOpCode.Exists, path, w => WritePathWatch(w, path, watch), cancellationToken,
                watch ? reply => Watched(reply.Error == ZooKeeperErrorCode.Ok ? _dataWatches : reply.Error == ZooKeeperErrorCode.NoNode ? _existWatches : null, path) : null)
                .ConfigureAwait(false);
            return body.ReadStat();
        }
        catch (ZooKeeperException ex) when (ex.Code == ZooKeeperErrorCode.NoNode)
        {
            return null;
        }
    }

    /// <summary>The data and stat of <paramref name="path"/>; with <paramref name="watch"/> a one-shot watch fires on its deletion or data change.</summary>
    public async Task<(byte[] Data, ZooKeeperStat Stat)> GetDataAsync(string path, bool watch, CancellationToken cancellationToken)
    {
        var body = await CallAsync(ZooKeeperOpCode.GetData, path, w => WritePathWatch(w, path, watch), cancellationToken,
            watch ? reply => Watched(reply.Error == ZooKeeperErrorCode.Ok ? _dataWatches : null, path) : null).ConfigureAwait(false);
        var data = body.ReadBuffer() ?? [];
        return (data, body.ReadStat());
    }

    /// <summary>Replaces the data of <paramref name="path"/> if its version is <paramref name="version"/> (−1: any): its new stat.</summary>
    public async Task<ZooKeeperStat> SetDataAsync(string path, byte[] data, int version, CancellationToken cancellationToken)
    {
        var body = await CallAsync(ZooKeeperOpCode.SetData, path, w =>
        {
            w.WriteString(path);
            w.WriteBuffer(data);
            w.WriteInt(version);
        }, cancellationToken).ConfigureAwait(false);
        return body.ReadStat();
    }

    /// <summary>The children of <paramref name="path"/> (names, unordered) and its stat (getChildren2); with <paramref name="watch"/> a one-shot watch fires when children come or go or it is deleted.</summary>
    public async Task<(IReadOnlyList<string> Children, ZooKeeperStat Stat)> GetChildrenAsync(string path, bool watch, CancellationToken cancellationToken)
    {
        var body = await CallAsync(ZooKeeperOpCode.GetChildren2, path, w => WritePathWatch(w, path, watch), cancellationToken,
            watch ? reply => Watched(reply.Error == ZooKeeperErrorCode.Ok ? _childWatches : null, path) : null).ConfigureAwait(false);
        var children = body.ReadStrings();
        return (children, body.ReadStat());
    }

    /// <summary>
    /// Runs <paramref name="ops"/> atomically: all take effect or none. Returns one result per operation; when the multi
    /// failed, the failing operation's result carries its error (and the others a rollback marker), and nothing changed.
    /// </summary>
    public async Task<IReadOnlyList<ZooKeeperOpResult>> MultiAsync(IReadOnlyList<ZooKeeperOp> ops, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ops);
        var reply = await CallRawAsync(ZooKeeperOpCode.Multi, ops.Count > 0 ? ops[0].Path : null, w =>
        {
            foreach (var op in ops)
            {
                w.WriteInt((int)op.OpCode);
                w.WriteBool(false);
                w.WriteInt(-1);
                op.WriteBody(w);
            }
            w.WriteInt(-1);
            w.WriteBool(true);
            w.WriteInt(-1);
        }, cancellationToken, null).ConfigureAwait(false);
        var results = new List<ZooKeeperOpResult>(ops.Count);
        var body = reply.Body;
        while (body.Remaining > 0)
        {
            var type = body.ReadInt();
            var done = body.ReadBool();
            var err = (ZooKeeperErrorCode)body.ReadInt();
            if (done) break;
            results.Add((ZooKeeperOpCode)type switch
            {
                ZooKeeperOpCode.Create => new ZooKeeperOpResult(ZooKeeperErrorCode.Ok, CreatedPath: body.ReadString()),
                ZooKeeperOpCode.Create2 => new ZooKeeperOpResult(ZooKeeperErrorCode.Ok, CreatedPath: body.ReadString(), Stat: body.ReadStat()),
                ZooKeeperOpCode.SetData => new ZooKeeperOpResult(ZooKeeperErrorCode.Ok, Stat: body.ReadStat()),
                ZooKeeperOpCode.Delete or ZooKeeperOpCode.Check => new ZooKeeperOpResult(ZooKeeperErrorCode.Ok),
                ZooKeeperOpCode.Error => new ZooKeeperOpResult((ZooKeeperErrorCode)body.ReadInt()),
                _ => throw new ZooKeeperProtocolException($"multi result of unknown type {type} (err {err})"),
            });
        }
        if (reply.Error != ZooKeeperErrorCode.Ok && results.Count == 0)
            results.AddRange(ops.Select(_ => new ZooKeeperOpResult(reply.Error)));
        if (results.Count != ops.Count)
            throw new ZooKeeperProtocolException($"multi of {ops.Count} operations answered with {results.Count} results");
        return results;
    }

    /// <summary>Waits until the server this client is connected to has caught up with the ensemble's leader (sync).</summary>
    public async Task SyncAsync(string path, CancellationToken cancellationToken) =>
        await CallAsync(ZooKeeperOpCode.Sync, path, w => w.WriteString(path), cancellationToken).ConfigureAwait(false);

    /// <summary>One ping round trip: confirms the connection and, like every request, keeps the session alive.</summary>
    public async Task PingAsync(CancellationToken cancellationToken) =>
        await CallRawAsync(ZooKeeperOpCode.Ping, null, null, cancellationToken, null, ZooKeeperXid.Ping).ConfigureAwait(false);

    /// <summary>
    /// Ends the session on the server (its ephemeral znodes are deleted at once) and closes the connection. A later
    /// request starts a new session. Without a session this only closes the connection.
    /// </summary>
    public async Task CloseSessionAsync(CancellationToken cancellationToken)
    {
        var connection = _connection;
        var session = SessionId;
        if (connection is { IsAlive: true } && session != 0)
        {
            try
            {
                await connection.SendAsync(ZooKeeperOpCode.CloseSession, null, null, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ForgetSession(session, ZooKeeperSessionState.Closed);
                connection.Abort(new ZooKeeperException(ZooKeeperErrorCode.SessionExpired, null, "the session was closed"));
            }
        }
        else if (session != 0)
        {
            // Not connected: the session has to be re-established to be closed.
            await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
            await CloseSessionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Drops the connection as a network failure would; the session lives on until it expires (tests, and the adapter after a request timeout).</summary>
    public void DropConnection(string reason) =>
        _connection?.Abort(new IOException(reason));

    /// <summary>Closes the connection without ending the session: its ephemeral znodes stay until it expires.</summary>
    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        _connection?.Abort(new ObjectDisposedException(nameof(ZooKeeperClient)));
        StateChanged?.Invoke(ZooKeeperSessionState.Closed, SessionId);
        return ValueTask.CompletedTask;
    }

    internal static void WriteCreate(JuteWriter w, string path, byte[] data, IReadOnlyList<ZooKeeperAcl> acl, ZooKeeperCreateMode mode)
    {
        w.WriteString(path);
        w.WriteBuffer(data);
        w.WriteInt(acl.Count);
        foreach (var entry in acl)
        {
            w.WriteInt(entry.Permissions);
            w.WriteString(entry.Scheme);
            w.WriteString(entry.Id);
        }
        w.WriteInt((int)mode);
    }

    private static void WritePathWatch(JuteWriter w, string path, bool watch)
    {
        w.WriteString(path);
        w.WriteBool(watch);
    }

    private void Watched(HashSet<string>? set, string path)
    {
        if (set is null) return;
        lock (_watchGate) set.Add(path);
    }

    private async Task<JuteReader> CallAsync(ZooKeeperOpCode op, string path, Action<JuteWriter> body, CancellationToken cancellationToken,
        Action<ZooKeeperReply>? onReply = null)
    {
        var reply = await CallRawAsync(op, path, body, cancellationToken, onReply).ConfigureAwait(false);
        if (reply.Error != ZooKeeperErrorCode.Ok) throw new ZooKeeperException(reply.Error, path);
        return reply.Body;
    }

    private async Task<ZooKeeperReply> CallRawAsync(ZooKeeperOpCode op, string? path, Action<JuteWriter>? body, CancellationToken cancellationToken,
        Action<ZooKeeperReply>? onReply, int? xid = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        var reply = await connection.SendAsync(op, body, path, cancellationToken, xid, r =>
        {
            if (r.Zxid > 0) RaiseLastZxid(r.Zxid);
            onReply?.Invoke(r);
        }).ConfigureAwait(false);
        if (reply.Error == ZooKeeperErrorCode.SessionExpired)
        {
            var session = connection.Session.SessionId;
            Log.SessionExpired(_logger, session, connection.Endpoint.Host, connection.Endpoint.Port);
            connection.Abort(new ZooKeeperException(ZooKeeperErrorCode.SessionExpired, path));
            ForgetSession(session, ZooKeeperSessionState.Expired);
        }
        return reply;
    }

    private void RaiseLastZxid(long zxid)
    {
        var current = Interlocked.Read(ref _lastZxid);
        while (zxid > current)
        {
            var seen = Interlocked.CompareExchange(ref _lastZxid, zxid, current);
            if (seen == current) return;
            current = seen;
        }
    }

    /// <summary>The live connection, or a new one: round-robin over the hosts, pausing between rounds, until one carries the session or the token ends it.</summary>
    private async Task<ZooKeeperConnection> EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsAlive: true } live) return live;
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { IsAlive: true } raced) return raced;
            var pause = TimeSpan.FromMilliseconds(50);
            var errors = new List<string>();
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                for (var i = 0; i < _options.Hosts.Count; i++)
                {
                    var host = _options.Hosts[_nextHost % _options.Hosts.Count];
                    try
                    {
                        var connection = await TryConnectAsync(host, cancellationToken).ConfigureAwait(false);
                        if (connection is not null) return connection;
                        // The session expired; the same server is asked for a new one right away.
                        connection = await TryConnectAsync(host, cancellationToken).ConfigureAwait(false);
                        if (connection is not null) return connection;
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is IOException or TimeoutException or ZooKeeperException or ZooKeeperProtocolException)
                    {
                        if (ex is ZooKeeperException { Code: ZooKeeperErrorCode.AuthFailed }) throw;
                        errors.Add($"{host.Host}:{host.Port}: {ex.Message}");
                        if (errors.Count > 10) errors.RemoveAt(0);
                        Log.ConnectFailed(_logger, host.Host, host.Port, ex.Message);
                    }
                    _nextHost++;
                }
                try
                {
                    await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    throw new OperationCanceledException($"Could not connect to ZooKeeper ({string.Join("; ", errors)}).", ex, cancellationToken);
                }
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>
    /// One connect attempt under <see cref="ZooKeeperClientOptions.ConnectTimeout"/>: handshake, authentication, watch
    /// re-registration. Null when the server says the session expired (which is then forgotten).
    /// </summary>
    private async Task<ZooKeeperConnection?> TryConnectAsync(DnsEndPoint host, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_options.ConnectTimeout);
        var session = SessionId;
        ZooKeeperConnection? connection;
        ZooKeeperConnectResponse response;
        try
        {
            (connection, response) = await ZooKeeperConnection.OpenAsync(host, LastZxid, _options.SessionTimeout, session,
                session == 0 ? NoPassword : _password, _time, OnNotification, OnConnectionFailed, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no session handshake within {_options.ConnectTimeout.TotalSeconds:0.###} s");
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new IOException(ex.Message, ex);
        }
        if (connection is null)
        {
            Log.SessionExpired(_logger, session, host.Host, host.Port);
            ForgetSession(session, ZooKeeperSessionState.Expired);
            return null;
        }
        try
        {
            foreach (var (scheme, credential) in _options.Auth)
            {
                var reply = await connection.SendAsync(ZooKeeperOpCode.Auth, w =>
                {
                    w.WriteInt(0);
                    w.WriteString(scheme);
                    w.WriteBuffer(credential);
                }, null, attempt.Token, ZooKeeperXid.Auth).ConfigureAwait(false);
                if (reply.Error != ZooKeeperErrorCode.Ok)
                    throw new ZooKeeperException(reply.Error, null, $"authentication with scheme '{scheme}' was refused by {host.Host}:{host.Port}");
            }
            string[] data, exist, child;
            lock (_watchGate)
            {
                data = [.. _dataWatches];
                exist = [.. _existWatches];
                child = [.. _childWatches];
            }
            var resumed = session != 0 && response.SessionId == session;
            if (resumed && data.Length + exist.Length + child.Length > 0)
            {
                var reply = await connection.SendAsync(ZooKeeperOpCode.SetWatches, w =>
                {
                    w.WriteLong(LastZxid);
                    w.WriteStrings(data);
                    w.WriteStrings(exist);
                    w.WriteStrings(child);
                }, null, attempt.Token, ZooKeeperXid.SetWatches).ConfigureAwait(false);
                if (reply.Error != ZooKeeperErrorCode.Ok) throw new ZooKeeperException(reply.Error, null, "re-setting the watches failed");
                Log.WatchesRestored(_logger, data.Length + exist.Length + child.Length, host.Host, host.Port);
            }
        }
        catch (Exception ex)
        {
            connection.Abort(ex);
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new TimeoutException($"no answer to authentication or setWatches within {_options.ConnectTimeout.TotalSeconds:0.###} s");
            throw;
        }

        Interlocked.Exchange(ref _sessionId, response.SessionId);
        _password = response.Password;
        Interlocked.Exchange(ref _negotiatedTicks, response.Timeout.Ticks);
        connection.StartMonitor(_options.ReadTimeout ?? response.Timeout * 2 / 3, _options.PingInterval);
        _connection = connection;
        if (response.SessionId == session) Log.SessionResumed(_logger, response.SessionId, host.Host, host.Port);
        else Log.SessionCreated(_logger, response.SessionId, response.Timeout, host.Host, host.Port);
        StateChanged?.Invoke(ZooKeeperSessionState.Connected, response.SessionId);
        return connection;
    }

    private void ForgetSession(long session, ZooKeeperSessionState state)
    {
        if (session == 0 || Interlocked.CompareExchange(ref _sessionId, 0, session) != session) return;
        _password = NoPassword;
        Interlocked.Exchange(ref _negotiatedTicks, 0);
        lock (_watchGate)
        {
            _dataWatches.Clear();
            _existWatches.Clear();
            _childWatches.Clear();
        }
        StateChanged?.Invoke(state, session);
    }

    private void OnConnectionFailed(ZooKeeperConnection connection, Exception reason)
    {
        if (connection.Session is null) return; // failed during the handshake: never handed out
        Log.ConnectionLost(_logger, connection.Endpoint.Host, connection.Endpoint.Port, reason.Message);
        if (!_disposed && ReferenceEquals(_connection, connection)) StateChanged?.Invoke(ZooKeeperSessionState.Disconnected, connection.Session.SessionId);
    }

    private void OnNotification(ZooKeeperConnection connection, ZooKeeperReply reply)
    {
        var type = (ZooKeeperEventType)reply.Body.ReadInt();
        reply.Body.ReadInt(); // keeper state: SyncConnected for watch events
        var path = reply.Body.ReadString() ?? "";
        lock (_watchGate)
        {
            switch (type)
            {
                case ZooKeeperEventType.NodeCreated or ZooKeeperEventType.NodeDataChanged:
                    _dataWatches.Remove(path);
                    _existWatches.Remove(path);
                    break;
                case ZooKeeperEventType.NodeDeleted:
                    _dataWatches.Remove(path);
                    _existWatches.Remove(path);
                    _childWatches.Remove(path);
                    break;
                case ZooKeeperEventType.NodeChildrenChanged:
                    _childWatches.Remove(path);
                    break;
            }
        }
        try
        {
            WatchTriggered?.Invoke(new ZooKeeperWatchEvent(type, path));
        }
        catch (Exception ex)
        {
            Log.WatchHandlerFailed(_logger, path, ex.Message);
        }
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/>.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
