using System.Globalization;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>One test member: its options, a controller over them, and SQL helpers.</summary>
internal sealed class PgNode : IDisposable
{
    public PgNode(string root, string name, Action<PostgresControllerOptions>? configure = null)
    {
        Name = name;
        Port = PgTestEnvironment.FreePort();
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(Path.Combine(dir, "run"));
        Options = new PostgresControllerOptions
        {
            DataDirectory = Path.Combine(dir, "data"),
            BinDirectory = PgTestEnvironment.BinDirectory,
            Listen = "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture),
            ConnectAddress = "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture),
            UnixSocketDirectory = Path.Combine(dir, "run"),
            Scope = "pgha-test",
            MemberName = name,
            Superuser = new PostgresCredentials("postgres"),
            Replication = new PostgresCredentials("postgres"),
            InitdbOptions = ["auth=trust", "encoding=UTF8", "no-locale", "no-sync", "no-instructions"],
            BasebackupOptions = ["no-sync"],
            Parameters = new Dictionary<string, string>
            {
                ["fsync"] = "off",
                ["shared_buffers"] = "8MB",
                ["max_connections"] = "20",
                ["wal_keep_size"] = "64MB",
                ["max_wal_size"] = "64MB",
                ["min_wal_size"] = "32MB",
                ["logging_collector"] = "off",
                ["wal_receiver_status_interval"] = "1s",
            },
            UsePgRewind = true,
            PgCtlTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(Options);
        Logger = new FakeLogger<PostgresController>();
        Controller = new PostgresController(Options, TimeProvider.System, Logger);
    }

    public string Name { get; }
    public int Port { get; }
    public PostgresControllerOptions Options { get; }
    public FakeLogger<PostgresController> Logger { get; }
    public PostgresController Controller { get; private set; }

    /// <summary>This node as a member key of the cluster.</summary>
    public Member Member => new(Name) { ConnUrl = $"postgres://127.0.0.1:{Port}/postgres" };

    public string SlotName => ReplicationSlotNames.ForMember(Name);

    /// <summary>A new controller over the same directories (the agent restarted); the old one is disposed.</summary>
    public PostgresController Restart()
    {
        Controller.Dispose();
        Controller = new PostgresController(Options, TimeProvider.System, Logger);
        return Controller;
    }

    public Task<PostgresStatus> StatusAsync() => Controller.GetStatusAsync(CancellationToken.None);

    public Task ArmFenceAsync(TimeSpan ahead) => Controller.SetWriteFenceAsync(TimeProvider.System.GetUtcNow() + ahead, CancellationToken.None);

    /// <summary>Bootstraps and starts a primary with a long fence.</summary>
    public async Task StartNewPrimaryAsync()
    {
        await Controller.BootstrapAsync(CancellationToken.None);
        await ArmFenceAsync(TimeSpan.FromMinutes(10));
        await Controller.StartPrimaryAsync(CancellationToken.None);
    }

    /// <summary>Clones <paramref name="primary"/>, gives it a slot there, and follows it.</summary>
    public async Task StartReplicaOfAsync(PgNode primary)
    {
        await Controller.CreateReplicaAsync(primary.Member, CancellationToken.None);
        await primary.Controller.SyncReplicationSlotsAsync([SlotName], CancellationToken.None);
        await Controller.FollowAsync(primary.Member, CancellationToken.None);
    }

    public NpgsqlConnection Open()
    {
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = Options.UnixSocketDirectory,
            Port = Port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
            Timeout = 5,
        };
        var c = new NpgsqlConnection(csb.ConnectionString);
        c.Open();
        return c;
    }

    public T? Scalar<T>(string sql)
    {
        using var c = Open();
        using var cmd = new NpgsqlCommand(sql, c);
        var v = cmd.ExecuteScalar();
        return v is null or DBNull ? default : (T)v;
    }

    public void Execute(string sql)
    {
        using var c = Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The postmaster's pid from postmaster.pid, or null.</summary>
    public int? PostmasterPid()
    {
        var file = Path.Combine(Options.DataDirectory, "postmaster.pid");
        if (!File.Exists(file)) return null;
        var first = File.ReadLines(file).FirstOrDefault();
        return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Posix.IsAlive(pid) ? pid : null;
    }

    public bool IsPostmasterAlive => PostmasterPid() is not null;

    /// <summary>Polls until <paramref name="condition"/> holds or <paramref name="timeout"/> passes; returns whether it held.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var until = TimeProvider.System.GetUtcNow() + timeout;
        while (TimeProvider.System.GetUtcNow() < until)
        {
            if (condition()) return true;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return condition();
    }

    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var until = TimeProvider.System.GetUtcNow() + timeout;
        while (TimeProvider.System.GetUtcNow() < until)
        {
            if (await condition()) return true;
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
        return await condition();
    }

    /// <summary>Stops everything this node left running: the postmaster (immediate) and the fencer.</summary>
    public void Dispose()
    {
        Controller.Dispose();
        var fencerPidFile = Path.Combine(Options.EffectiveStateDirectory, "fencer.pid");
        if (File.Exists(fencerPidFile) && int.TryParse(File.ReadAllText(fencerPidFile).Trim(), out var fencer))
            Posix.Signal(fencer, Posix.SIGKILL);
        if (PostmasterPid() is { } pid)
        {
            Posix.Signal(pid, Posix.SIGKILL);
            foreach (var child in Posix.ChildrenOf(pid)) Posix.Signal(child, Posix.SIGKILL);
        }
    }
}
