using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PgHa.Chaos.Tests;

/// <summary>The fault proxy on its own, against an in-process echo server that records what reached it (no PostgreSQL).</summary>
[TestFixture, Category("Chaos")]
public sealed class FaultProxyTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(400);
    private EchoServer _echo = null!;
    private FaultProxy _proxy = null!;

    [SetUp]
    public void Start()
    {
        _echo = new EchoServer();
        _proxy = new FaultProxy("test", _echo.EndPoint).Start();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _proxy.DisposeAsync();
        await _echo.DisposeAsync();
    }

    [Test]
    public async Task PassForwardsBothWaysAndEndOfStream()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "hello");
        Assert.That(await ReceiveAsync(client, 5, TimeSpan.FromSeconds(5)), Is.EqualTo("hello"));
        client.Shutdown(SocketShutdown.Send);
        Assert.That(await ReceiveAsync(client, 1, TimeSpan.FromSeconds(5)), Is.Empty, "the echo server's end of stream comes through after ours");
        Assert.That(_proxy.Accepted, Is.EqualTo(1));
    }

    [Test]
    public async Task DelayHoldsBytesAtLeastThatLongAndKeepsTheirOrder()
    {
        _proxy.Set(Direction.ToClient, LinkMode.Delay, TimeSpan.FromMilliseconds(300));
        using var client = await ConnectAsync();
        var started = TimeProvider.System.GetTimestamp();
        await SendAsync(client, "abc");
        await SendAsync(client, "def");
        var text = await ReceiveAsync(client, 6, TimeSpan.FromSeconds(5));
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        Assert.That(text, Is.EqualTo("abcdef"));
        Assert.That(elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300)), "the reply arrived before the delay had passed");
    }

    [Test]
    public async Task StallIsABlackholeThatDeliversIntactWhenHealed()
    {
        using var client = await ConnectAsync();
        _proxy.SetBoth(LinkMode.Stall);
        await SendAsync(client, "held");
        Assert.That(await ReceiveAsync(client, 4, Quiet), Is.Empty, "nothing comes back through a blackhole");
        Assert.That(_echo.Received, Is.Empty, "nothing reaches the target through a blackhole");
        _proxy.Heal();
        Assert.That(await ReceiveAsync(client, 4, TimeSpan.FromSeconds(5)), Is.EqualTo("held"), "held bytes arrive once the partition heals");
    }

    [Test]
    public async Task NewConnectionsThroughAStallAreAcceptedButHang()
    {
        _proxy.SetBoth(LinkMode.Stall);
        using var client = await ConnectAsync();
        await SendAsync(client, "x");
        Assert.That(await ReceiveAsync(client, 1, Quiet), Is.Empty);
        Assert.That(_echo.Received, Is.Empty);
    }

    [Test]
    public async Task OneWayStallLetsTheOtherDirectionThrough()
    {
        using var client = await ConnectAsync();
        _proxy.Set(Direction.ToClient, LinkMode.Stall);
        await SendAsync(client, "ping");
        Assert.That(await WaitForAsync(() => _echo.Received == "ping", TimeSpan.FromSeconds(5)), Is.True, "requests still reach the target");
        Assert.That(await ReceiveAsync(client, 4, Quiet), Is.Empty, "replies do not come back");
    }

    [Test]
    public async Task DropDiscardsOneDirectionAndResetsTheBrokenConnectionOnHeal()
    {
        using var client = await ConnectAsync();
        _proxy.Set(Direction.ToTarget, LinkMode.Drop);
        await SendAsync(client, "lost");
        Assert.That(await ReceiveAsync(client, 4, Quiet), Is.Empty);
        Assert.That(_echo.Received, Is.Empty, "dropped bytes never reach the target");
        _proxy.Heal();
        Assert.That(async () => await ReceiveAsync(client, 1, TimeSpan.FromSeconds(5)), Throws.InstanceOf<SocketException>(),
            "a stream that lost bytes is reset, not resumed with a hole in it");
        using var fresh = await ConnectAsync();
        await SendAsync(fresh, "ok");
        Assert.That(await ReceiveAsync(fresh, 2, TimeSpan.FromSeconds(5)), Is.EqualTo("ok"), "new connections work after the heal");
    }

    [Test]
    public async Task CutResetsOpenConnectionsAndRefusesNewOnesUntilHealed()
    {
        using var open = await ConnectAsync();
        await SendAsync(open, "a");
        Assert.That(await ReceiveAsync(open, 1, TimeSpan.FromSeconds(5)), Is.EqualTo("a"));
        _proxy.Cut();
        Assert.That(async () => await ReceiveAsync(open, 1, TimeSpan.FromSeconds(5)), Throws.InstanceOf<SocketException>(), "the open connection is reset");

        // The reset may come before the client sees its connect complete, or right after: either way it is refused.
        Assert.That(async () =>
        {
            using var refused = await ConnectAsync();
            await ReceiveAsync(refused, 1, TimeSpan.FromSeconds(5));
        }, Throws.InstanceOf<SocketException>(), "a new connection is reset at once");
        Assert.That(_proxy.Refused, Is.GreaterThanOrEqualTo(1));

        _proxy.Heal();
        using var fresh = await ConnectAsync();
        await SendAsync(fresh, "b");
        Assert.That(await ReceiveAsync(fresh, 1, TimeSpan.FromSeconds(5)), Is.EqualTo("b"));
    }

    [Test]
    public void DelayWithoutADurationIsRefused() =>
        Assert.That(() => _proxy.Set(Direction.ToTarget, LinkMode.Delay), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("positive delay"));

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _proxy.Port);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Reads until <paramref name="count"/> bytes, end of stream or <paramref name="within"/>; returns what came.</summary>
    private static async Task<string> ReceiveAsync(Socket socket, int count, TimeSpan within)
    {
        var got = new StringBuilder();
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(within, TimeProvider.System);
        try
        {
            while (got.Length < count)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(0, count - got.Length), SocketFlags.None, cts.Token);
                if (read == 0) break;
                got.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException)
        {
        }
        return got.ToString();
    }

    private static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > timeout) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return true;
    }

    /// <summary>Echoes every byte back and keeps a copy of everything that reached it.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly StringBuilder _received = new();
        private readonly Task _loop;

        public EchoServer()
        {
            _listener.Start();
            _loop = Task.Run(AcceptAsync);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public string Received
        {
            get
            {
                lock (_received) return _received.ToString();
            }
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                _ = Task.Run(() => EchoAsync(socket));
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                var buffer = new byte[1024];
                try
                {
                    while (true)
                    {
                        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                        if (read == 0)
                        {
                            socket.Shutdown(SocketShutdown.Send);
                            return;
                        }
                        lock (_received) _received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                        await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }
}
