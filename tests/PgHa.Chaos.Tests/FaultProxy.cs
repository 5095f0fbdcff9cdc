using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace PgHa.Chaos.Tests;

/// <summary>Which way bytes travel through a <see cref="FaultProxy"/>.</summary>
internal enum Direction
{
    /// <summary>From the client that connected to the proxy towards the target.</summary>
    ToTarget,

    /// <summary>From the target back to the client.</summary>
    ToClient,
}

/// <summary>What happens to the bytes travelling one way through a <see cref="FaultProxy"/>.</summary>
internal enum LinkMode
{
    /// <summary>Forwarded at once.</summary>
    Pass,

    /// <summary>Forwarded after the direction's delay (order kept).</summary>
    Delay,

    /// <summary>
    /// Blackhole: nothing is read, so nothing arrives and the sender's socket buffers fill (it hangs, as behind a
    /// network partition). Held bytes are delivered intact once the direction passes again — TCP retransmitting after
    /// the partition heals.
    /// </summary>
    Stall,

    /// <summary>
    /// Read and thrown away: the sender believes it sent, the receiver never gets it. The stream is broken from then on,
    /// so a connection that lost bytes this way is reset when its direction leaves this mode.
    /// </summary>
    Drop,
}

/// <summary>
/// A TCP proxy for fault injection: listens on a free loopback port and forwards every accepted connection to one
/// target. Each direction has its own <see cref="LinkMode"/> (switchable at any time, applying to open and new
/// connections); <see cref="Cut"/> resets every open connection and refuses new ones until <see cref="Heal"/>.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Connection> _connections = [];
    private readonly Lock _gate = new();
    private readonly LinkState[] _links = [new(), new()];
    private Task _acceptLoop = Task.CompletedTask;
    private volatile bool _refusing;
    private long _accepted;
    private long _refused;

    public FaultProxy(string name, IPEndPoint target, TimeProvider? time = null)
    {
        Name = name;
        _target = target;
        _time = time ?? TimeProvider.System;
        _listener = new TcpListener(IPAddress.Loopback, 0);
    }

    public string Name { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Connections accepted and forwarded so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections reset at once because the proxy was cut.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public bool IsCut => _refusing;

    public LinkMode Mode(Direction direction) => _links[(int)direction].Mode;

    public FaultProxy Start()
    {
        _listener.Start(512);
        _acceptLoop = Task.Run(AcceptLoopAsync);
        return this;
    }

    /// <summary>Sets how one direction treats bytes from now on; <paramref name="delay"/> is used by <see cref="LinkMode.Delay"/>.</summary>
    public void Set(Direction direction, LinkMode mode, TimeSpan delay = default)
    {
        if (mode == LinkMode.Delay && delay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(delay), delay, "LinkMode.Delay needs a positive delay");
        var link = _links[(int)direction];
        LinkMode previous;
        lock (link.Gate)
        {
            previous = link.Mode;
            link.Delay = delay;
            link.Mode = mode;
            link.Changed.TrySetResult();
            link.Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        if (previous == LinkMode.Drop && mode != LinkMode.Drop)
        {
            foreach (var c in Snapshot().Where(c => c.LostBytes)) c.Reset();
        }
    }

    /// <summary>Both directions in <paramref name="mode"/>.</summary>
    public void SetBoth(LinkMode mode, TimeSpan delay = default)
    {
        Set(Direction.ToTarget, mode, delay);
        Set(Direction.ToClient, mode, delay);
    }

    /// <summary>Resets every open connection (RST) and resets each new one as soon as it is accepted, until <see cref="Heal"/>.</summary>
    public void Cut()
    {
        _refusing = true;
        foreach (var c in Snapshot()) c.Reset();
    }

    /// <summary>No fault: both directions pass, new connections are forwarded.</summary>
    public void Heal()
    {
        _refusing = false;
        SetBoth(LinkMode.Pass);
    }

    public override string ToString() =>
        $"{Name} {Endpoint}→{_target} [→target {Mode(Direction.ToTarget)}, →client {Mode(Direction.ToClient)}{(_refusing ? ", cut" : "")}; {Accepted} connections forwarded, {Refused} refused]";

    private List<Connection> Snapshot()
    {
        lock (_gate) return [.. _connections];
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_refusing)
            {
                Interlocked.Increment(ref _refused);
                ResetSocket(client);
                continue;
            }
            _ = Task.Run(() => ConnectAsync(client));
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        var target = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await target.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The target refuses: so does the proxy.
            target.Dispose();
            ResetSocket(client);
            return;
        }
        var connection = new Connection(this, client, target);
        lock (_gate)
        {
            if (_stop.IsCancellationRequested || _refusing)
            {
                connection.Reset();
                return;
            }
            _connections.Add(connection);
        }
        Interlocked.Increment(ref _accepted);
        connection.Run();
    }

    private void Forget(Connection connection)
    {
        lock (_gate) _connections.Remove(connection);
    }

    private static void ResetSocket(Socket socket)
    {
        try
        {
            // Linger 0: close sends RST, the peer's next read or write fails at once (a cut cable reported by a router).
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        foreach (var c in Snapshot()) c.Reset();
        _stop.Dispose();
    }

    /// <summary>One direction's current mode, and a signal completed whenever it changes (to wake stalled pumps).</summary>
    private sealed class LinkState
    {
        public readonly Lock Gate = new();
        public volatile LinkMode Mode = LinkMode.Pass;
        public TimeSpan Delay;
        public TaskCompletionSource Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A client socket, its target socket, and one pump per direction (read → apply the mode → timed write queue).</summary>
    private sealed class Connection(FaultProxy proxy, Socket client, Socket target)
    {
        private readonly CancellationTokenSource _closed = new();
        private int _reset;

        public bool LostBytes { get; private set; }

        public void Run()
        {
            var up = Task.Run(() => PumpAsync(Direction.ToTarget, client, target));
            var down = Task.Run(() => PumpAsync(Direction.ToClient, target, client));
            _ = Task.WhenAll(up, down).ContinueWith(_ => Close(), TaskScheduler.Default);
        }

        /// <summary>RST to both ends.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0) return;
            _closed.Cancel();
            ResetSocket(client);
            ResetSocket(target);
            proxy.Forget(this);
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0) return;
            _closed.Cancel();
            client.Dispose();
            target.Dispose();
            proxy.Forget(this);
        }

        private async Task PumpAsync(Direction direction, Socket from, Socket to)
        {
            var link = proxy._links[(int)direction];
            var queue = Channel.CreateBounded<(long Due, byte[] Bytes)>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
            var writer = Task.Run(() => WriteAsync(queue.Reader, to));
            var token = _closed.Token;
            try
            {
                var buffer = new byte[ChunkSize];
                while (true)
                {
                    await WhileStalledAsync(link, token);
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, token);
                    if (read == 0) break;
                    // A chunk read just before a stall began is held, like everything after it.
                    await WhileStalledAsync(link, token);
                    var mode = link.Mode;
                    if (mode == LinkMode.Drop)
                    {
                        LostBytes = true;
                        continue;
                    }
                    var due = proxy._time.GetTimestamp() + (mode == LinkMode.Delay ? (long)(link.Delay.TotalSeconds * proxy._time.TimestampFrequency) : 0);
                    await queue.Writer.WriteAsync((due, buffer[..read]), token);
                }
                queue.Writer.TryComplete();
                await writer;
                // Half-close: the other side sees end of stream after the last byte, as with a direct connection.
                try { to.Shutdown(SocketShutdown.Send); }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or ChannelClosedException)
            {
                queue.Writer.TryComplete();
                Reset();
            }
        }

        private async Task WriteAsync(ChannelReader<(long Due, byte[] Bytes)> queue, Socket to)
        {
            var token = _closed.Token;
            try
            {
                await foreach (var (due, bytes) in queue.ReadAllAsync(token))
                {
                    // Timers may fire a little early: wait until the due time has really passed.
                    TimeSpan wait;
                    while ((wait = proxy._time.GetElapsedTime(proxy._time.GetTimestamp(), due)) > TimeSpan.Zero)
                        await Task.Delay(wait + TimeSpan.FromMilliseconds(1), proxy._time, token);
                    var sent = 0;
                    while (sent < bytes.Length) sent += await to.SendAsync(bytes.AsMemory(sent), SocketFlags.None, token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                Reset();
            }
        }

        private static async Task WhileStalledAsync(LinkState link, CancellationToken token)
        {
            while (true)
            {
                Task changed;
                lock (link.Gate)
                {
                    if (link.Mode != LinkMode.Stall) return;
                    changed = link.Changed.Task;
                }
                await changed.WaitAsync(token);
            }
        }
    }
}
