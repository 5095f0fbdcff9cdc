using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Npgsql;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// HAProxy in front of the cluster, configured the way Patroni's documentation tells users to: one TCP listener whose
/// backends are the three nodes' PostgreSQL ports, each health-checked with <c>option httpchk GET /primary</c> on the
/// node's REST port (<c>check port</c>), <c>http-check expect status 200</c>. Only the leader answers 200 there, so
/// every connection through <see cref="Port"/> lands on the leader. Runs in the foreground (<c>-db</c>) as the test's
/// user, its config and log in the cluster's directory (so the cluster's teardown also finds it).
/// </summary>
internal sealed class HaproxyProcess : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/haproxy";

    /// <summary>Health-check interval: a leader change is seen within about fall × inter.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(500);

    private readonly Process _process;

    private HaproxyProcess(Process process, int port, string configPath, string logPath)
    {
        _process = process;
        Port = port;
        ConfigPath = configPath;
        LogPath = logPath;
    }

    public int Port { get; }
    public string ConfigPath { get; }
    public string LogPath { get; }

    /// <summary>Writes the configuration for <paramref name="cluster"/> and starts HAProxy; returns once it listens.</summary>
    public static async Task<HaproxyProcess> StartAsync(PgHaCluster cluster)
    {
        if (!File.Exists(Binary))
            E2eEnvironment.Missing($"HAProxy ({Binary}) is not installed: run scripts/test as root (it installs haproxy), or apt-get install -y haproxy.");
        var port = E2eEnvironment.FreePorts(1)[0];
        var dir = Path.Combine(cluster.Root, "haproxy");
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "haproxy.cfg");
        var log = Path.Combine(dir, "haproxy.log");
        var inter = ((int)CheckInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        var servers = string.Join("\n", cluster.Nodes.Select(n =>
            $"    server {n.Name} 127.0.0.1:{n.PgPort} maxconn 100 check port {n.RestPort}"));
        await File.WriteAllTextAsync(config, $"""
            global
                maxconn 200
                log stdout format raw local0
            defaults
                mode tcp
                log global
                option tcplog
                retries 2
                timeout connect 2s
                timeout client 30m
                timeout server 30m
                timeout check 1s
            listen primary
                bind 127.0.0.1:{port}
                option httpchk GET /primary
                http-check expect status 200
                default-server inter {inter}ms fall 2 rise 1 on-marked-down shutdown-sessions
            {servers}

            """);
        var check = await ProcessLauncher.RunAsync(Binary, ["-c", "-f", config], TimeSpan.FromSeconds(20));
        if (check.ExitCode != 0) Assert.Fail($"haproxy -c rejects the configuration {config}:\n{check.Stdout}\n{check.Stderr}");
        var process = ProcessLauncher.StartLogged(log, Binary, "-db", "-f", config);
        var haproxy = new HaproxyProcess(process, port, config, log);
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            if (process.HasExited) Assert.Fail($"haproxy exited at start (code {process.ExitCode}):\n{ProcessLauncher.Tail(log, 30)}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return haproxy;
            }
            catch (SocketException) when (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
        }
    }

    /// <summary>A connection string through HAProxy (password auth over TCP, no pooling: each open is a new routing decision).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = PgHaCluster.SuperuserPassword,
        Database = "postgres",
        Pooling = false,
        Timeout = 2,
        CommandTimeout = 2,
        ApplicationName = "pgha-e2e-haproxy",
    }.ConnectionString;

    /// <summary>
    /// Opens a connection through HAProxy and asks the server behind it for its port and whether it is in recovery;
    /// null (and the error) when HAProxy has no server to route to or the connection fails.
    /// </summary>
    public async Task<(int Port, bool InRecovery)?> WhoAnswersAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT inet_server_port(), pg_is_in_recovery()", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt32(0), reader.GetBoolean(1));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or SocketException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Os.Signal(_process.Id, Os.SIGTERM);
            if (!await Os.WaitForExitAsync(_process.Id, TimeSpan.FromSeconds(5))) Os.Signal(_process.Id, Os.SIGKILL);
        }
        _process.Dispose();
    }
}
