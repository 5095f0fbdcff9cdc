using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>One member: its ports, directories, Patroni-format YAML, and its <c>pgha run</c> process.</summary>
internal sealed class ClusterNode
{
    private Process? _agent;

    public ClusterNode(string root, string name, int restPort, int pgPort)
    {
        Name = name;
        RestPort = restPort;
        PgPort = pgPort;
        Dir = Path.Combine(root, name);
        DataDir = Path.Combine(Dir, "data");
        ConfigPath = Path.Combine(root, name + ".yml");
        LogPath = Path.Combine(root, name + ".log");
    }

    public string Name { get; }
    public int RestPort { get; }
    public int PgPort { get; }
    /// <summary>The node's folder; also its unix socket directory.</summary>
    public string Dir { get; }
    public string DataDir { get; }
    /// <summary>PgHa's state directory (fence, fencer log, postmaster log): <c>&lt;data_dir&gt;.pgha</c>.</summary>
    public string StateDir => DataDir + ".pgha";
    public string ConfigPath { get; }
    public string LogPath { get; }
    public string RestUrl => $"http://127.0.0.1:{RestPort}";

    /// <summary>The agent's pid while it runs, else 0.</summary>
    public int AgentPid => _agent is { HasExited: false } a ? a.Id : 0;

    public bool IsAgentRunning => AgentPid != 0 && Os.IsAlive(AgentPid);

    /// <summary>The node's configuration: the layout of scripts/cluster, on this cluster's ports and folders.</summary>
    public string Yaml(string scope, string dcsSection) => $"""
        scope: {scope}
        namespace: /service/
        name: {Name}
        restapi:
          listen: 127.0.0.1:{RestPort}
          connect_address: 127.0.0.1:{RestPort}
        {dcsSection}
        bootstrap:
          dcs:
            ttl: {PgHaCluster.TtlSeconds}
            loop_wait: {PgHaCluster.LoopWaitSeconds}
            retry_timeout: {PgHaCluster.RetryTimeoutSeconds}
            maximum_lag_on_failover: {PgHaCluster.MaximumLagOnFailover}
            postgresql:
              use_pg_rewind: true
              parameters:
                wal_keep_size: 128MB
          initdb:
          - encoding: UTF8
          - data-checksums
          pg_hba:
          - local all all trust
          - host replication replicator 127.0.0.1/32 scram-sha-256
          - host all all 127.0.0.1/32 scram-sha-256
        postgresql:
          listen: 127.0.0.1:{PgPort}
          connect_address: 127.0.0.1:{PgPort}
          data_dir: {DataDir}
          bin_dir: {E2eEnvironment.PgBinDirectory}
          pgpass: {Path.Combine(Dir, "pgpass")}
          authentication:
            superuser:
              username: postgres
              password: {PgHaCluster.SuperuserPassword}
            replication:
              username: replicator
              password: replicator-secret
          parameters:
            unix_socket_directories: {Dir}
            shared_buffers: 32MB
        """;

    /// <summary>Starts <c>dotnet pgha.dll run nodeN.yml</c>, its output appended to <see cref="LogPath"/>.</summary>
    public void StartAgent()
    {
        if (IsAgentRunning) throw new InvalidOperationException($"{Name}: the agent already runs (pid {AgentPid})");
        _agent?.Dispose();
        File.AppendAllText(LogPath, $"==== test harness: starting pgha run {ConfigPath} ====\n");
        var (program, prefix) = E2eEnvironment.PgHaCommand;
        _agent = ProcessLauncher.StartLogged(LogPath, program, [.. prefix, "run", ConfigPath]);
    }

    /// <summary>kill -9 of the agent; returns its pid.</summary>
    public int KillAgent()
    {
        var pid = AgentPid;
        if (pid == 0) throw new InvalidOperationException($"{Name}: the agent does not run");
        Os.Signal(pid, Os.SIGKILL);
        return pid;
    }

    /// <summary>SIGTERM to the agent (orderly shutdown); waits up to <paramref name="timeout"/>, then SIGKILL. True when it exited on SIGTERM.</summary>
    public async Task<bool> StopAgentAsync(TimeSpan timeout)
    {
        var pid = AgentPid;
        if (pid == 0) return true;
        Os.Signal(pid, Os.SIGTERM);
        if (await Os.WaitForExitAsync(pid, timeout)) return true;
        Os.Signal(pid, Os.SIGKILL);
        await Os.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        return false;
    }

    /// <summary>The live postmaster's pid from <c>postmaster.pid</c>, or null.</summary>
    public int? PostmasterPid()
    {
        try
        {
            var first = File.ReadLines(Path.Combine(DataDir, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Os.IsAlive(pid) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>GET /patroni, or null when the node does not answer.</summary>
    public async Task<JsonObject?> StatusAsync(HttpClient http)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1.5), TimeProvider.System);
            using var response = await http.GetAsync(RestUrl + "/patroni", cts.Token);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token)) as JsonObject;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A connection string to this node alone over its unix socket (trust), with short timeouts.</summary>
    public string LocalConnectionString(int timeoutSeconds = 2) => new NpgsqlConnectionStringBuilder
    {
        Host = Dir,
        Port = PgPort,
        Username = "postgres",
        Database = "postgres",
        Pooling = false,
        Timeout = timeoutSeconds,
        CommandTimeout = timeoutSeconds,
        ApplicationName = "pgha-e2e",
    }.ConnectionString;

    public async Task<NpgsqlConnection> OpenAsync(int timeoutSeconds = 2)
    {
        var connection = new NpgsqlConnection(LocalConnectionString(timeoutSeconds));
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a query on this node and returns every row as an array of values.</summary>
    public async Task<List<object?[]>> QueryAsync(string sql, int timeoutSeconds = 5)
    {
        await using var connection = await OpenAsync(timeoutSeconds);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public async Task<T> ScalarAsync<T>(string sql, int timeoutSeconds = 5)
    {
        var rows = await QueryAsync(sql, timeoutSeconds);
        return (T)rows.Single()[0]!;
    }

    public override string ToString() => Name;
}
