using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>The server's answer to a request: the reply header and a reader positioned at the body.</summary>
internal readonly record struct ZooKeeperReply(int Xid, long Zxid, ZooKeeperErrorCode Error, JuteReader Body);

/// <summary>What the server answered to a connect request.</summary>
/// <param name="Timeout">The negotiated session timeout; zero or less means the session asked for has expired.</param>
/// <param name="SessionId">The session (new or re-established).</param>
/// <param name="Password">The session's password, needed to re-establish it on another connection.</param>
internal sealed record ZooKeeperConnectResponse(TimeSpan Timeout, long SessionId, byte[] Password);

/// <summary>
/// One TCP connection to one ZooKeeper server carrying one session: frames requests, matches replies to them by xid
/// (the server answers a session's requests in order; pings, auth and setWatches have reserved xids), hands watch
/// notifications to the client, and — if asked — pings while idle. It fails as a whole: a broken socket, a protocol
/// error or a request left unanswered past the read timeout fails every pending request with
/// <see cref="ZooKeeperErrorCode.ConnectionLoss"/>, and the client opens a new connection.
/// </summary>
internal sealed class ZooKeeperConnection
{
    private sealed record Pending(int Xid, string? Path, long SentAt, Action<ZooKeeperReply>? OnReply, TaskCompletionSource<ZooKeeperReply> Done);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _pendingGate = new();
    private readonly LinkedList<Pending> _pending = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly Action<ZooKeeperConnection, ZooKeeperReply> _onNotification;
    private readonly Action<ZooKeeperConnection, Exception> _onFailed;
    private long _lastReceive;
    private long _lastSend;
    private int _nextXid;
    private Exception? _failure;

    private ZooKeeperConnection(Socket socket, DnsEndPoint endpoint, TimeProvider time,
        Action<ZooKeeperConnection, ZooKeeperReply> onNotification, Action<ZooKeeperConnection, Exception> onFailed)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _time = time;
        Endpoint = endpoint;
        _onNotification = onNotification;
        _onFailed = onFailed;
        _lastReceive = _lastSend = time.GetTimestamp();
    }

    public DnsEndPoint Endpoint { get; }

    public bool IsAlive => !_closed.IsCancellationRequested;

    /// <summary>Why the connection ended, once it has.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>The negotiated session of this connection, set by <see cref="OpenAsync"/>.</summary>
    public ZooKeeperConnectResponse Session { get; private set; } = null!;

    /// <summary>
    /// Connects to <paramref name="endpoint"/> and sends the connect request (session 0 for a new session, else the
    /// session to re-establish with its password and the last zxid seen, so the server refuses to go back in time).
    /// Returns the open connection, or — when the server says the session expired — null with the response.
    /// </summary>
    public static async Task<(ZooKeeperConnection? Connection, ZooKeeperConnectResponse Response)> OpenAsync(
        DnsEndPoint endpoint, long lastZxid, TimeSpan sessionTimeout, long sessionId, byte[] password, TimeProvider time,
        Action<ZooKeeperConnection, ZooKeeperReply> onNotification, Action<ZooKeeperConnection, Exception> onFailed,
        CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ZooKeeperConnection? connection = null;
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            connection = new ZooKeeperConnection(socket, endpoint, time, onNotification, onFailed);
            var request = new JuteWriter();
            request.WriteInt(0); // protocol version
            request.WriteLong(lastZxid);
            request.WriteInt((int)Math.Clamp(sessionTimeout.TotalMilliseconds, 1, int.MaxValue));
            request.WriteLong(sessionId);
            request.WriteBuffer(password);
            request.WriteBool(false); // not read-only
            await connection._stream.WriteAsync(request.ToFrame(), cancellationToken).ConfigureAwait(false);
            var reader = new JuteReader(await connection.ReadFrameAsync(cancellationToken).ConfigureAwait(false));
            reader.ReadInt(); // protocol version
            var timeout = reader.ReadInt();
            var session = reader.ReadLong();
            var passwd = reader.ReadBuffer() ?? [];
            // Servers since 3.4 append a read-only flag; older ones do not.
            var response = new ZooKeeperConnectResponse(TimeSpan.FromMilliseconds(timeout), session, passwd);
            if (timeout <= 0)
            {
                connection.Abort(new ZooKeeperException(ZooKeeperErrorCode.SessionExpired, null, $"{endpoint.Host}:{endpoint.Port} refused to re-establish the session"));
                return (null, response);
            }
            connection.Session = response;
            _ = connection.ReadLoopAsync();
            return (connection, response);
        }
        catch
        {
            if (connection is not null) connection.Abort(new ZooKeeperException(ZooKeeperErrorCode.ConnectionLoss, null, "the handshake failed"));
            else socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts the loop that pings while idle (when <paramref name="pingInterval"/> is set) and drops the connection when the server stops answering.</summary>
    public void StartMonitor(TimeSpan readTimeout, TimeSpan? pingInterval)
    {
        var shortest = pingInterval is { } p && p < readTimeout ? p : readTimeout;
        var period = TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(20).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _ = MonitorAsync(readTimeout, pingInterval, period);
    }

    /// <summary>
    /// Sends one request and waits for its reply. <paramref name="onReply"/> runs on the read loop before the reply is
    /// handed out (and before any later notification), so watch bookkeeping cannot miss an event.
    /// </summary>
    public async Task<ZooKeeperReply> SendAsync(ZooKeeperOpCode op, Action<JuteWriter>? body, string? path, CancellationToken cancellationToken,
        int? xid = null, Action<ZooKeeperReply>? onReply = null)
    {
        var done = new TaskCompletionSource<ZooKeeperReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsAlive) throw Lost(path);
            var id = xid ?? Interlocked.Increment(ref _nextXid);
            var writer = new JuteWriter();
            writer.WriteInt(id);
            writer.WriteInt((int)op);
            body?.Invoke(writer);
            var pending = new Pending(id, path, _time.GetTimestamp(), onReply, done);
            lock (_pendingGate) _pending.AddLast(pending);
            Volatile.Write(ref _lastSend, pending.SentAt);
            try
            {
                // Not the caller's token: a half-written frame would corrupt the stream for every other request.
                await _stream.WriteAsync(writer.ToFrame(), _closed.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Abort(ex);
                throw Lost(path, ex);
            }
        }
        finally
        {
            _writeGate.Release();
        }
        return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection and fails every pending request with <see cref="ZooKeeperErrorCode.ConnectionLoss"/>.</summary>
    public void Abort(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null) return;
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _stream.Dispose();
        List<Pending> failed;
        lock (_pendingGate)
        {
            failed = [.. _pending];
            _pending.Clear();
        }
        foreach (var pending in failed) pending.Done.TrySetException(Lost(pending.Path, reason));
        _onFailed(this, reason);
    }

    private ZooKeeperException Lost(string? path, Exception? reason = null)
    {
        reason ??= Failure;
        var detail = $"connection to {Endpoint.Host}:{Endpoint.Port}" + (reason is null ? " closed" : $": {reason.Message}");
        return new ZooKeeperException(ZooKeeperErrorCode.ConnectionLoss, path, detail, reason);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (IsAlive)
            {
                var packet = await ReadFrameAsync(_closed.Token).ConfigureAwait(false);
                Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                var reader = new JuteReader(packet);
                var reply = new ZooKeeperReply(reader.ReadInt(), reader.ReadLong(), (ZooKeeperErrorCode)reader.ReadInt(), reader);
                if (reply.Xid == ZooKeeperXid.Notification)
                {
                    _onNotification(this, reply);
                    continue;
                }
                Pending? match = null;
                lock (_pendingGate)
                {
                    for (var node = _pending.First; node is not null; node = node.Next)
                    {
                        if (node.Value.Xid != reply.Xid) continue;
                        match = node.Value;
                        _pending.Remove(node);
                        break;
                    }
                }
                if (match is null) throw new ZooKeeperProtocolException($"a reply to xid {reply.Xid}, which has no request pending");
                match.OnReply?.Invoke(reply);
                match.Done.TrySetResult(reply);
            }
        }
        catch (Exception ex)
        {
            Abort(ex is EndOfStreamException ? new IOException("the server closed the connection", ex) : ex);
        }
    }

    private async Task MonitorAsync(TimeSpan readTimeout, TimeSpan? pingInterval, TimeSpan period)
    {
        try
        {
            while (IsAlive)
            {
                await Task.Delay(period, _time, _closed.Token).ConfigureAwait(false);
                long? oldest = null;
                lock (_pendingGate)
                {
                    if (_pending.First is { } first) oldest = first.Value.SentAt;
                }
                if (oldest is { } sent)
                {
                    var since = Math.Max(sent, Volatile.Read(ref _lastReceive));
                    if (_time.GetElapsedTime(since) > readTimeout)
                    {
                        Abort(new TimeoutException($"{Endpoint.Host}:{Endpoint.Port} sent nothing for {readTimeout.TotalSeconds:0.###} s while a request was pending"));
                        return;
                    }
                }
                if (pingInterval is { } interval && _time.GetElapsedTime(Volatile.Read(ref _lastSend)) >= interval)
                    _ = PingQuietlyAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PingQuietlyAsync()
    {
        try
        {
            await SendAsync(ZooKeeperOpCode.Ping, null, null, _closed.Token, ZooKeeperXid.Ping).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A lost ping is a lost connection, which Abort has already reported.
        }
    }

    private async Task<byte[]> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[4];
        await _stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length < 0 || length > 64 * 1024 * 1024) throw new ZooKeeperProtocolException($"a packet length of {length} bytes");
        var packet = new byte[length];
        await _stream.ReadExactlyAsync(packet, cancellationToken).ConfigureAwait(false);
        return packet;
    }
}
