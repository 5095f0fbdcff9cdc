using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Callbacks;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Loop;
using PgHa.Postgres;

namespace PgHa.Hosting;

/// <summary>
/// The embedded node: builds the <see cref="HaLoop"/> from the options and the registered ports, and turns what the loop
/// publishes (its last cycle and memory) into a role with change events.
/// </summary>
/// <remarks>
/// The loop has no per-cycle callback, so the role is observed: every <see cref="ObservationInterval"/> on the injected
/// clock while the node runs, and once more after shutdown. A lock that runs out between cycles is seen too, because the
/// role is judged against the clock (<see cref="PgHaRole.PrimaryWithoutLock"/>).
/// </remarks>
internal sealed class PgHaNode : IPgHaNode, IDisposable
{
    /// <summary>How often the role is re-evaluated while the node runs.</summary>
    internal static readonly TimeSpan ObservationInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>What <c>pgha</c> publishes too; Patroni peers parse it as dotted integers.</summary>
    internal const string Version = "3.0.2";

    private readonly ILogger _logger;
    private readonly Lazy<HaLoop> _loop;
    private readonly Lock _gate = new();
    private PgHaRole _role = PgHaRole.Unknown;

    public PgHaNode(PgHaOptions options, IDcs dcs, IPostgresControl postgres, IPeerStatusClient peers, TimeProvider timeProvider, ILoggerFactory? loggers)
    {
        Options = options;
        Dcs = dcs;
        Postgres = postgres;
        Time = timeProvider;
        Peers = peers;
        loggers ??= NullLoggerFactory.Instance;
        _logger = loggers.CreateLogger("PgHa.Hosting");
        _loop = new Lazy<HaLoop>(() => new HaLoop(dcs, postgres, peers, ToHaNodeOptions(options), timeProvider, loggers.CreateLogger<HaLoop>(), Callbacks(options, timeProvider, loggers)));
    }

    public PgHaOptions Options { get; }

    public IPostgresControl Postgres { get; }

    public TimeProvider Time { get; }

    /// <summary>Set once by the registration; observed gauges read the node.</summary>
    public PgHaMetrics? Metrics { get; set; }

    public string Scope => Options.Scope;

    public string Name => Options.Name;

    public string AgentVersion => Version;

    public IDcs Dcs { get; }

    public IPeerStatusClient Peers { get; }

    public HaLoop Loop => _loop.Value;

    public PgHaRole Role { get { lock (_gate) return _role; } }

    public event EventHandler<PgHaRoleChangedEventArgs>? RoleChanged;

    /// <summary>Re-evaluates the role; raises <see cref="RoleChanged"/> when it differs from the last one.</summary>
    public void Observe()
    {
        var now = Time.GetUtcNow();
        var loop = Loop;
        var current = RoleOf(loop.LastCycle, loop.Memory, now);
        PgHaRole previous;
        lock (_gate)
        {
            previous = _role;
            if (previous == current) return;
            _role = current;
        }
        HostingLog.RoleChanged(_logger, previous, current);
        Metrics?.RoleChanged(previous, current);
        try
        {
            RoleChanged?.Invoke(this, new PgHaRoleChangedEventArgs(previous, current, now));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            HostingLog.RoleChangedHandlerFailed(_logger, ex);
        }
    }

    /// <summary>Observes the role until cancelled.</summary>
    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Observe();
            try { await Task.Delay(ObservationInterval, Time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    public void Dispose() => Metrics?.Dispose();

    /// <summary>The role shown by a cycle result and the agent's memory at <paramref name="now"/>.</summary>
    internal static PgHaRole RoleOf(HaCycleResult? last, HaMemory memory, DateTimeOffset now)
    {
        if (last is null) return PgHaRole.Unknown;
        var pg = last.Postgres;
        if (pg.DataDirectory != DataDirectoryState.Initialized) return PgHaRole.Uninitialized;
        if (!pg.IsRunning) return PgHaRole.Stopped;
        if (pg.Role != PostgresRole.Primary) return PgHaRole.Replica;
        return HoldsLock(memory, now) ? PgHaRole.Primary : PgHaRole.PrimaryWithoutLock;
    }

    /// <summary>The lock is ours and its guarantee has not run out.</summary>
    internal static bool HoldsLock(HaMemory memory, DateTimeOffset now) => memory.HeldLock is not null && memory.LockValidUntil is { } until && now < until;

    internal static string ConnUrl(PgHaOptions options)
    {
        var address = string.IsNullOrEmpty(options.PostgresConnectAddress) ? options.Postgres.ConnectAddress : options.PostgresConnectAddress;
        return $"postgres://{address}/postgres";
    }

    // Null when no command is configured: the loop then runs none.
    private static PostgresCallbacks? Callbacks(PgHaOptions options, TimeProvider time, ILoggerFactory loggers) =>
        options.Callbacks?.ToCallbackOptions(options.Scope) is { IsEmpty: false } commands
            ? new PostgresCallbacks(commands, time, loggers.CreateLogger<PostgresCallbacks>())
            : null;

    internal static HaNodeOptions ToHaNodeOptions(PgHaOptions options) => new()
    {
        Identity = new NodeIdentity(options.Name, ConnUrl(options), options.ApiUrl, Version),
        Tags = new MemberTags([.. options.Tags.Select(t => KeyValuePair.Create(t.Key, t.Value))]),
        BootstrapConfig = BootstrapConfig(options),
        CanBootstrap = options.CanBootstrap,
        CanCreateReplicaWithoutLeader = options.Postgres.CanCreateReplicaWithoutLeader,
        FenceSafetyMargin = options.FenceSafetyMargin,
    };

    // The dynamic configuration a new cluster starts with, in Patroni's JSON so it is written to the config key as-is.
    private static GlobalConfig BootstrapConfig(PgHaOptions options)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("ttl", options.Ttl);
            json.WriteNumber("loop_wait", options.LoopWait);
            json.WriteNumber("retry_timeout", options.RetryTimeout);
            json.WriteNumber("maximum_lag_on_failover", options.MaximumLagOnFailover);
            json.WriteEndObject();
        }
        var problems = new List<DcsDataProblem>();
        var config = ConfigCodec.Parse(Encoding.UTF8.GetString(buffer.ToArray()), default, problems);
        return problems.Count == 0 ? config : throw new InvalidOperationException("PgHa: the bootstrap configuration is not valid: " + string.Join("; ", problems));
    }
}
