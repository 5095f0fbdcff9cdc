using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// A single-node etcd on two free loopback ports with its data and log in the cluster's directory. Read through its
/// JSON gateway (<c>/v3/kv/range</c>, <c>/v3/lease/timetolive</c>), so the tests see exactly what etcdctl would. It can
/// be frozen (SIGSTOP) and thawed (SIGCONT).
/// </summary>
internal sealed class EtcdProcess : IClusterDcs
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? _process;

    public EtcdProcess(string root, int clientPort, int peerPort)
    {
        ClientPort = clientPort;
        PeerPort = peerPort;
        DataDir = Path.Combine(root, "etcd");
        LogPath = Path.Combine(root, "etcd.log");
    }

    public int ClientPort { get; }
    public int PeerPort { get; }
    public string DataDir { get; }
    public string LogPath { get; }
    public int Pid => _process?.Id ?? 0;
    public bool IsFrozen { get; private set; }

    /// <summary>The client endpoint in Patroni's <c>host:port</c> form.</summary>
    public string Endpoint => $"127.0.0.1:{ClientPort}";

    public string YamlSection => $"etcd3:\n  hosts: {Endpoint}";

    public async Task<string?> LeaderAsync(string keyPrefix)
    {
        try
        {
            return (await RangeAsync(keyPrefix + "leader")).SingleOrDefault(kv => kv.Key == keyPrefix + "leader")?.Value;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            return null;
        }
    }

    public async Task StartAsync()
    {
        var client = $"http://127.0.0.1:{ClientPort}";
        var peer = $"http://127.0.0.1:{PeerPort}";
        _process = ProcessLauncher.StartLogged(LogPath, E2eEnvironment.EtcdBinary,
            "--name", "pgha-e2e", "--data-dir", DataDir,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"pgha-e2e={peer}", "--initial-cluster-state", "new",
            "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn");
        var started = TimeProvider.System.GetTimestamp();
        Exception? last = null;
        while (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited) throw new InvalidOperationException($"etcd exited during start-up:\n{ProcessLauncher.Tail(LogPath, 50)}");
            try
            {
                await RangeAsync("/pgha-health");
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                last = ex;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
        throw new TimeoutException($"etcd did not serve within 30 s ({last?.Message}):\n{ProcessLauncher.Tail(LogPath, 50)}");
    }

    /// <summary>SIGSTOP: etcd keeps its sockets open but answers nothing.</summary>
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

    /// <summary>One etcd key-value: the value as text and the lease it is bound to (0: none).</summary>
    public sealed record KeyValue(string Key, string Value, long Lease);

    /// <summary>Every key under <paramref name="prefix"/> (as <c>etcdctl get --prefix</c>).</summary>
    public async Task<IReadOnlyList<KeyValue>> RangeAsync(string prefix)
    {
        var key = Encoding.UTF8.GetBytes(prefix);
        var end = (byte[])key.Clone();
        end[^1]++;
        var body = new JsonObject { ["key"] = Convert.ToBase64String(key), ["range_end"] = Convert.ToBase64String(end) };
        var reply = await PostAsync("/v3/kv/range", body);
        var list = new List<KeyValue>();
        if (reply["kvs"] is JsonArray kvs)
        {
            foreach (var kv in kvs)
            {
                list.Add(new KeyValue(
                    Encoding.UTF8.GetString(Convert.FromBase64String((string)kv!["key"]!)),
                    kv["value"] is { } v ? Encoding.UTF8.GetString(Convert.FromBase64String((string)v!)) : "",
                    kv["lease"] is { } l ? long.Parse((string)l!, CultureInfo.InvariantCulture) : 0));
            }
        }
        return list;
    }

    /// <summary>The remaining TTL of a lease in whole seconds as etcd reports it (truncated), or -1 when it is gone.</summary>
    public async Task<long> LeaseRemainingSecondsAsync(long lease)
    {
        var reply = await PostAsync("/v3/lease/timetolive", new JsonObject { ["ID"] = lease.ToString(CultureInfo.InvariantCulture) });
        return reply["TTL"] is { } ttl ? long.Parse((string)ttl!, CultureInfo.InvariantCulture) : -1;
    }

    private async Task<JsonNode> PostAsync(string path, JsonObject body)
    {
        using var response = await _http.PostAsJsonAsync($"http://127.0.0.1:{ClientPort}{path}", body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"etcd {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text) ?? throw new InvalidOperationException($"etcd {path}: empty reply");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_process is not { } process) return;
        _process = null;
        try
        {
            if (!process.HasExited)
            {
                Os.Signal(process.Id, Os.SIGCONT);
                Os.Signal(process.Id, Os.SIGKILL);
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            process.Dispose();
        }
    }
}
