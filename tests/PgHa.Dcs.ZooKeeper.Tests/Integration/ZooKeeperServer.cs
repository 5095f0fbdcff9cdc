using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>
/// One ZooKeeper 3.8 server from Debian's jars (<c>java … QuorumPeerMain zoo.cfg</c>), standalone or as a member of a
/// loopback ensemble, on free ports with its data in a temporary folder of its own. tickTime is 1 s, so sessions expire
/// within a second of their timeout; the transaction log is not fsynced (test speed).
/// </summary>
internal sealed class ZooKeeperServer : IAsyncDisposable
{
    public const string Jar = "/usr/share/java/zookeeper.jar";
    public static readonly TimeSpan TickTime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Queue<string> _log = new();
    private readonly string _config;
    private Process? _process;

    private ZooKeeperServer(int id, int clientPort, string dataDir, string config)
    {
        Id = id;
        ClientPort = clientPort;
        DataDir = dataDir;
        _config = config;
    }

    public int Id { get; }
    public int ClientPort { get; }
    public string DataDir { get; }

    /// <summary>The client endpoint in Patroni's <c>hosts</c> form.</summary>
    public string Endpoint => $"127.0.0.1:{ClientPort}";

    public DnsEndPoint DnsEndpoint => new("127.0.0.1", ClientPort);

    public bool IsRunning => _process is { HasExited: false };

    public string RecentLog
    {
        get
        {
            lock (_log) return string.Join('\n', _log);
        }
    }

    /// <summary>Fails (or ignores, with PGHA_ALLOW_MISSING_SERVERS=1) when Debian's zookeeper package is not installed.</summary>
    public static void RequireJars()
    {
        if (File.Exists(Jar) && File.Exists("/usr/bin/java")) return;
        var message = $"ZooKeeper ({Jar}) or java is not installed. Run scripts/test, which installs the zookeeper package, "
            + "or apt-get install -y zookeeper. Set PGHA_ALLOW_MISSING_SERVERS=1 to skip the ZooKeeper tests instead.";
        if (Environment.GetEnvironmentVariable("PGHA_ALLOW_MISSING_SERVERS") == "1") Assert.Ignore(message);
        Assert.Fail(message);
    }

    /// <summary>Starts a standalone server and waits until it serves.</summary>
    public static async Task<ZooKeeperServer> StartStandaloneAsync()
    {
        RequireJars();
        var server = Create(1, FreePort(), null);
        await server.StartOrDisposeAsync();
        return server;
    }

    /// <summary>Starts an ensemble of <paramref name="size"/> servers on loopback and waits until each serves (one leads).</summary>
    public static async Task<IReadOnlyList<ZooKeeperServer>> StartEnsembleAsync(int size)
    {
        RequireJars();
        var ports = Enumerable.Range(0, size).Select(_ => (Client: FreePort(), Peer: FreePort(), Election: FreePort())).ToArray();
        var members = string.Join('\n', ports.Select((p, i) => $"server.{i + 1}=127.0.0.1:{p.Peer}:{p.Election}"));
        var servers = ports.Select((p, i) => Create(i + 1, p.Client, members)).ToArray();
        try
        {
            foreach (var server in servers) server.Launch();
            await Task.WhenAll(servers.Select(s => s.WaitUntilServingAsync()));
            return servers;
        }
        catch
        {
            foreach (var server in servers) await server.DisposeAsync();
            throw;
        }
    }

    private static ZooKeeperServer Create(int id, int clientPort, string? ensemble)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"pgha-zk-{id}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDir);
        var config = Path.Combine(dataDir, "zoo.cfg");
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"tickTime={(int)TickTime.TotalMilliseconds}")
            .AppendLine("initLimit=10")
            .AppendLine("syncLimit=5")
            .AppendLine(CultureInfo.InvariantCulture, $"dataDir={dataDir}")
            .AppendLine(CultureInfo.InvariantCulture, $"clientPort={clientPort}")
            .AppendLine("clientPortAddress=127.0.0.1")
            .AppendLine("admin.enableServer=false")
            .AppendLine("4lw.commands.whitelist=srvr,ruok")
            .AppendLine("minSessionTimeout=2000")
            .AppendLine("maxSessionTimeout=60000")
            .AppendLine("forceSync=no");
        if (ensemble is not null)
        {
            text.AppendLine(ensemble);
            File.WriteAllText(Path.Combine(dataDir, "myid"), id.ToString(CultureInfo.InvariantCulture));
        }
        File.WriteAllText(config, text.ToString());
        return new ZooKeeperServer(id, clientPort, dataDir, config);
    }

    private async Task StartOrDisposeAsync()
    {
        try
        {
            Launch();
            await WaitUntilServingAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process again on the same data and ports.</summary>
    public async Task StartAgainAsync()
    {
        Launch();
        await WaitUntilServingAsync();
    }

    private void Launch()
    {
        if (IsRunning) throw new InvalidOperationException("ZooKeeper is already running");
        var start = new ProcessStartInfo("/usr/bin/java")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", $"{Jar}:/usr/share/java/slf4j-simple.jar", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", _config])
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start java");
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>Kills the process (SIGKILL); the data stays.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process) return;
        _process = null;
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

    /// <summary>SIGSTOP: the server keeps its sockets open but answers nothing.</summary>
    public Task FreezeAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new InvalidOperationException("ZooKeeper is not running");
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
        await kill.WaitForExitAsync(timeout.Token);
    }

    /// <summary>The answer to a four-letter command (<c>srvr</c>, <c>ruok</c>), or null when the server does not answer.</summary>
    public async Task<string?> FourLetterAsync(string command)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), TimeProvider.System);
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, ClientPort, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes(command), timeout.Token);
            var answer = new StringBuilder();
            var buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0) answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            return answer.ToString();
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary><c>leader</c>, <c>follower</c> or <c>standalone</c>, from <c>srvr</c>; null when not serving.</summary>
    public async Task<string?> ModeAsync()
    {
        var answer = await FourLetterAsync("srvr");
        var line = answer?.Split('\n').FirstOrDefault(l => l.StartsWith("Mode:", StringComparison.Ordinal));
        return line?["Mode:".Length..].Trim();
    }

    private async Task WaitUntilServingAsync()
    {
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < StartTimeout)
        {
            if (_process is not { HasExited: false }) throw new InvalidOperationException($"ZooKeeper exited during start-up:\n{RecentLog}");
            if (await ModeAsync() is not null) return;
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
        throw new TimeoutException($"ZooKeeper did not serve within {StartTimeout}:\n{RecentLog}");
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            if (Directory.Exists(DataDir)) Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test run for.
        }
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > 200) _log.Dequeue();
        }
    }
}
