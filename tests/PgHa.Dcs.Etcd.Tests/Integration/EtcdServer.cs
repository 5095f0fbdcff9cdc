using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// A single-node etcd (<c>/usr/bin/etcd</c>) on two free loopback ports, with its data in a temporary folder of its own.
/// It can be killed and started again on the same data and ports, as an operator restarting etcd would.
/// </summary>
internal sealed class EtcdServer : IAsyncDisposable
{
    /// <summary>PEM files for serving https with client certificates: the CA both sides trust, the server's certificate and key, and a client certificate and key for this class's own raw client.</summary>
    public sealed record TlsFiles(string Ca, string ServerCert, string ServerKey, string ClientCert, string ClientKey);

    /// <summary>The etcd binary: Debian's etcd-server package, or PGHA_ETCD_BINARY.</summary>
    public static readonly string Binary = Environment.GetEnvironmentVariable("PGHA_ETCD_BINARY") is { Length: > 0 } path ? path : "/usr/bin/etcd";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Queue<string> _log = new();
    private readonly TlsFiles? _tls;
    private readonly string[] _extraArguments;
    private Process? _process;

    private EtcdServer(string name, TlsFiles? tls, string[] extraArguments)
    {
        Name = name;
        _tls = tls;
        _extraArguments = extraArguments;
        ClientPort = FreePort();
        PeerPort = FreePort();
        DataDir = Path.Combine(Path.GetTempPath(), $"pgha-etcd-{name}-{Guid.NewGuid():N}");
    }

    public string Name { get; }
    public int ClientPort { get; }
    public int PeerPort { get; }
    public string DataDir { get; }

    /// <summary>The client endpoint in Patroni's <c>host</c> form.</summary>
    public string Endpoint => $"127.0.0.1:{ClientPort}";

    private string ClientUrl => $"{(_tls is null ? "http" : "https")}://127.0.0.1:{ClientPort}";

    /// <summary>Whether the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The last lines etcd wrote, for failure messages.</summary>
    public string RecentLog
    {
        get
        {
            lock (_log) return string.Join('\n', _log);
        }
    }

    /// <summary>Fails (or ignores, with PGHA_ALLOW_MISSING_SERVERS=1) when the etcd binary is not installed.</summary>
    public static void RequireBinary()
    {
        if (File.Exists(Binary)) return;
        var message = $"The etcd server ({Binary}) is not installed. Run scripts/test, which installs etcd-server and etcd-client, "
            + "or apt-get install -y etcd-server etcd-client (or point PGHA_ETCD_BINARY at an etcd binary). "
            + "Set PGHA_ALLOW_MISSING_SERVERS=1 to skip the etcd tests instead.";
        if (Environment.GetEnvironmentVariable("PGHA_ALLOW_MISSING_SERVERS") == "1") Assert.Ignore(message);
        Assert.Fail(message);
    }

    /// <summary>Starts a new server (serving https with client certificates when <paramref name="tls"/> is given, with <paramref name="extraArguments"/> on its command line) and waits until it serves a range request.</summary>
    public static async Task<EtcdServer> StartAsync(string name, TlsFiles? tls = null, params string[] extraArguments)
    {
        RequireBinary();
        var server = new EtcdServer(name, tls, extraArguments);
        try
        {
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process (again) on the same data directory and ports and waits until it serves.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning) throw new InvalidOperationException("etcd is already running");
        var client = ClientUrl;
        var peer = $"http://127.0.0.1:{PeerPort}";
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])
        [
            "--name", Name, "--data-dir", DataDir,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"{Name}={peer}", "--initial-cluster-state", "new",
            "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
            .. (_tls is null ? [] : (string[])["--cert-file", _tls.ServerCert, "--key-file", _tls.ServerKey, "--trusted-ca-file", _tls.Ca, "--client-cert-auth"]),
            .. _extraArguments,
        ])
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Binary}");
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilServingAsync();
    }

    /// <summary>Kills the process (SIGKILL) and waits for it to exit; the data directory stays.</summary>
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

    /// <summary>Whether the process is stopped by <see cref="FreezeAsync"/>.</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>SIGSTOP: etcd keeps its sockets open but answers nothing, not even on open streams.</summary>
    public async Task FreezeAsync()
    {
        await SignalAsync("-STOP");
        IsFrozen = true;
    }

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>.</summary>
    public async Task ThawAsync()
    {
        await SignalAsync("-CONT");
        IsFrozen = false;
    }

    private async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new InvalidOperationException("etcd is not running");
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
        await kill.WaitForExitAsync(timeout.Token);
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {pid} failed ({kill.ExitCode})");
    }

    /// <summary>A raw client of this server, for checking what the adapter wrote (etcdctl's view).</summary>
    public RawEtcd CreateRawClient() => new(ClientUrl, _tls);

    /// <summary>Every key under <paramref name="prefix"/>, as <c>etcdctl get --prefix</c> shows them.</summary>
    public async Task<IReadOnlyList<RawEtcd.Kv>> RangeAsync(string prefix)
    {
        using var client = CreateRawClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
        return await client.RangeAsync(prefix, timeout.Token);
    }

    /// <summary>
    /// etcd's <c>grpc_server_msg_received_total</c> from <c>/metrics</c>, summed per gRPC method (Range, Txn, Put,
    /// LeaseKeepAlive, Watch, …): every request message any client sent — each unary call, each keep-alive, each watch
    /// create or cancel. The benchmark counts etcd requests the same way. Plain http servers only.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadMessagesReceivedAsync(CancellationToken cancellationToken)
    {
        if (_tls is not null) throw new InvalidOperationException("metrics are read over plain http only");
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"{ClientUrl}/metrics"), cancellationToken);
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            const string Metric = "grpc_server_msg_received_total{";
            if (!line.StartsWith(Metric, StringComparison.Ordinal)) continue;
            var method = Label(line, "grpc_method");
            var value = line[(line.LastIndexOf(' ') + 1)..];
            counts[method] = counts.GetValueOrDefault(method) + (long)double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return counts;

        static string Label(string line, string name)
        {
            var start = line.IndexOf(name + "=\"", StringComparison.Ordinal) + name.Length + 2;
            return line[start..line.IndexOf('"', start)];
        }
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
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

    private async Task WaitUntilServingAsync()
    {
        var started = TimeProvider.System.GetTimestamp();
        Exception? last = null;
        while (TimeProvider.System.GetElapsedTime(started) < StartTimeout)
        {
            if (_process is not { HasExited: false })
                throw new InvalidOperationException($"etcd exited during start-up:\n{RecentLog}");
            try
            {
                using var client = CreateRawClient();
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(1), TimeProvider.System);
                await client.RangeAsync("/pgha-health", attempt.Token);
                return;
            }
            catch (RawEtcd.RefusedException)
            {
                return; // an answer, even a refusal (authentication is on), means it serves
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
            {
                last = ex;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
        throw new TimeoutException($"etcd did not serve a range request within {StartTimeout} ({last?.Message}):\n{RecentLog}");
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
