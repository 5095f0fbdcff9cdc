using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// A standalone ZooKeeper 3.8 from Debian's jars (<c>java … QuorumPeerMain zoo.cfg</c>) on a free loopback port, with its
/// data and log in the cluster's directory (tickTime 1 s, so sessions expire within a second of their timeout). Read with
/// PgHa's own ZooKeeper client. It can be frozen (SIGSTOP) and thawed (SIGCONT).
/// </summary>
internal sealed class ZooKeeperProcess : IClusterDcs
{
    public const string Jar = "/usr/share/java/zookeeper.jar";

    private readonly string _dir;
    private Process? _process;

    public ZooKeeperProcess(string root, int clientPort)
    {
        ClientPort = clientPort;
        _dir = Path.Combine(root, "zookeeper");
        LogPath = Path.Combine(root, "zookeeper.log");
    }

    public int ClientPort { get; }
    public string LogPath { get; }
    public int Pid => _process?.Id ?? 0;
    public bool IsFrozen { get; private set; }

    /// <summary>The client endpoint in Patroni's <c>host:port</c> form.</summary>
    public string Endpoint => $"127.0.0.1:{ClientPort}";

    public string YamlSection => $"zookeeper:\n  hosts:\n  - {Endpoint}";

    /// <summary>Fails (or ignores) when Debian's zookeeper package is not installed.</summary>
    public static void RequireJars()
    {
        if (!File.Exists(Jar) || !File.Exists("/usr/bin/java"))
            E2eEnvironment.Missing($"ZooKeeper ({Jar}) or java is not installed. Run the tests through scripts/test, which installs the zookeeper package.");
    }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_dir);
        var config = Path.Combine(_dir, "zoo.cfg");
        await File.WriteAllTextAsync(config, string.Join('\n',
            "tickTime=1000", "initLimit=10", "syncLimit=5", $"dataDir={_dir}",
            $"clientPort={ClientPort.ToString(CultureInfo.InvariantCulture)}", "clientPortAddress=127.0.0.1",
            "admin.enableServer=false", "4lw.commands.whitelist=srvr,ruok", "minSessionTimeout=2000", "maxSessionTimeout=60000",
            "forceSync=no", ""));
        _process = ProcessLauncher.StartLogged(LogPath, "/usr/bin/java",
            "-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", $"{Jar}:/usr/share/java/slf4j-simple.jar", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", config);
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited) throw new InvalidOperationException($"ZooKeeper exited during start-up:\n{ProcessLauncher.Tail(LogPath, 50)}");
            if ((await SrvrAsync())?.Contains("Mode:", StringComparison.Ordinal) == true) return;
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
        throw new TimeoutException($"ZooKeeper did not serve within 60 s:\n{ProcessLauncher.Tail(LogPath, 50)}");
    }

    private async Task<string?> SrvrAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), TimeProvider.System);
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, ClientPort, timeout.Token);
            var stream = tcp.GetStream();
            await stream.WriteAsync("srvr"u8.ToArray(), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<string?> LeaderAsync(string keyPrefix)
    {
        await using var client = Client();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3), TimeProvider.System);
        try
        {
            var (data, _) = await client.GetDataAsync(keyPrefix + "leader", watch: false, timeout.Token);
            await client.CloseSessionAsync(timeout.Token);
            return Encoding.UTF8.GetString(data);
        }
        catch (Exception ex) when (ex is ZooKeeperException or OperationCanceledException or IOException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>A client of this server (closes nothing on dispose: close its session when done).</summary>
    public ZooKeeperClient Client() => new(new ZooKeeperClientOptions
    {
        Hosts = [new DnsEndPoint("127.0.0.1", ClientPort)],
        SessionTimeout = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    }, TimeProvider.System);

    /// <summary>SIGSTOP: ZooKeeper keeps its sockets open but answers nothing.</summary>
    public void Freeze()
    {
        Os.Signal(Pid, Os.SIGSTOP);
        IsFrozen = true;
    }

    /// <summary>SIGCONT.</summary>
    public void Thaw()
    {
        Os.Signal(Pid, Os.SIGCONT);
        IsFrozen = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        if (IsFrozen) Thaw();
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
            await process.WaitForExitAsync(wait.Token);
        }
        finally
        {
            process.Dispose();
        }
    }
}
