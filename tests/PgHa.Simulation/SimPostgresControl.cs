using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Postgres;

namespace PgHa.Simulation;

/// <summary>An agent incarnation's control of its simulated PostgreSQL; actions take virtual time.</summary>
public sealed class SimPostgresControl(SimScheduler scheduler, SimActor actor, SimPostgresServer server, Func<string, SimPostgresServer?> serverOf, Func<string> newSystemId) : IPostgresControl
{
    /// <inheritdoc />
    public Task<PostgresStatus> GetStatusAsync(CancellationToken cancellationToken) => Task.FromResult(new PostgresStatus
    {
        SynchronousStandbyNames = server.Running ? server.SynchronousStandbyNames ?? "" : null,
        ManagedSynchronousStandbyNames = server.SynchronousStandbyNames,
        Replication = server.Running && server.Role == PostgresRole.Primary && ReplicationOf is { } rows ? rows(server) : [],
        DataDirectory = server.Initialized ? DataDirectoryState.Initialized : DataDirectoryState.Empty,
        SystemId = server.SystemId,
        IsRunning = server.Running,
        Role = server.Role,
        Timeline = server.Timeline,
        Lsn = server.Lsn,
        Upstream = server.Running ? server.Upstream : null,
        IsStreaming = server.Running && server.Upstream is not null,
    });

    /// <inheritdoc />
    public async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        await Delay(1.5).ConfigureAwait(false);
        server.Initialized = true;
        server.SystemId = newSystemId();
        server.PastBranches.Clear();
        server.Branch = SimPostgresServer.NewBranch();
        server.Timeline = 1;
        server.Lsn = 0x3000000;
        server.Wal.Reset(0);
        server.Role = PostgresRole.Primary;
        server.Running = false;
    }

    /// <inheritdoc />
    public async Task CreateReplicaAsync(Member? source, CancellationToken cancellationToken)
    {
        await Delay(1.0).ConfigureAwait(false);
        // The simulated nodes have no backups to restore from (no no_leader replica method).
        if (source is null) throw new InvalidOperationException("no member to clone from");
        var from = serverOf(source.Name);
        if (from is not { Running: true }) throw new InvalidOperationException($"clone source {source.Name} is not running");
        server.AdoptHistoryOf(from, from.Lsn);
        server.Wal.Reset(from.Lsn); // pg_basebackup copies no slots
        server.Initialized = true;
        server.Role = PostgresRole.Replica;
        server.Upstream = source.Name;
        server.Running = false;
    }

    /// <inheritdoc />
    public async Task StartPrimaryAsync(CancellationToken cancellationToken)
    {
        await Delay(0.3).ConfigureAwait(false);
        if (server.Running) return;
        if (server.Role != PostgresRole.Primary) throw new InvalidOperationException("pg_control does not describe a primary");
        if (server.FenceTripped) throw new InvalidOperationException("the write fence has expired: refusing to start a primary");
        server.Running = true;
        server.Upstream = null;
    }

    /// <inheritdoc />
    public async Task FollowAsync(Member? upstream, CancellationToken cancellationToken)
    {
        if (server.Running && server.Role == PostgresRole.Primary)
            throw new InvalidOperationException("refusing to reconfigure a running primary as a replica");
        var up = upstream is null ? null : serverOf(upstream.Name);
        if (up is { Running: true } && !server.IsOnHistoryOf(up))
        {
            // pg_rewind needs a stopped target.
            if (server.Running) { await Delay(0.1).ConfigureAwait(false); server.Running = false; }
            await Delay(0.5).ConfigureAwait(false);
            if (!up.Running) throw new InvalidOperationException("rewind source went away");
            server.AdoptHistoryOf(up, server.ForkPointWith(up));
        }
        server.Role = PostgresRole.Replica;
        server.Upstream = upstream?.Name;
        if (!server.Running)
        {
            await Delay(0.3).ConfigureAwait(false);
            server.Running = true;
        }
    }

    /// <inheritdoc />
    public async Task PromoteAsync(CancellationToken cancellationToken)
    {
        await Delay(0.1).ConfigureAwait(false);
        if (!server.Running || server.Role != PostgresRole.Replica) throw new InvalidOperationException("not a running replica");
        if (server.FenceTripped) throw new InvalidOperationException("the write fence has expired: refusing to promote");
        server.Promote();
        Promoted?.Invoke(server);
    }

    /// <inheritdoc />
    public async Task StopForDemoteAsync(DemoteMode mode, CancellationToken cancellationToken)
    {
        await Delay(mode switch { DemoteMode.Graceful => 0.5, DemoteMode.Offline => 0.3, _ => 0.05 }).ConfigureAwait(false);
        server.Running = false;
    }

    /// <inheritdoc />
    public Task SetWriteFenceAsync(DateTimeOffset? until, CancellationToken cancellationToken)
    {
        server.SetFence(until);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Without <see cref="SyncSlots"/> WAL retention is not modelled: a replica can always catch up from its upstream, so
    /// there are no slots.
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, long>> SyncReplicationSlotsAsync(ReplicationSlotPlan plan, CancellationToken cancellationToken)
    {
        if (SyncSlots is not { } sync) return new Dictionary<string, long>();
        await Delay(0.02).ConfigureAwait(false);
        return sync(server, plan);
    }

    /// <summary>The server's slot sync (<see cref="SimSlotModel.Sync"/>), when slots are modelled.</summary>
    public Func<SimPostgresServer, ReplicationSlotPlan, IReadOnlyDictionary<string, long>>? SyncSlots { get; set; }

    /// <inheritdoc />
    /// <remarks>A pg_basebackup of <see cref="Remote"/>; it fails while the remote cannot be reached from this node.</remarks>
    public async Task CreateReplicaFromRemoteAsync(StandbyClusterConfig remote, CancellationToken cancellationToken)
    {
        var source = RemoteFor(remote);
        await Delay(1.0).ConfigureAwait(false);
        if (!source.Reachable(NodeIndex)) throw new InvalidOperationException($"the remote primary {remote.Describe()} cannot be reached");
        server.AdoptHistoryOf(source.Server, source.Server.Lsn);
        server.Initialized = true;
        server.Role = PostgresRole.Replica;
        server.Upstream = source.UpstreamName;
        server.Running = false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Like the real controller: recovery settings point at the remote (reloaded, or the server is started), without a
    /// divergence check and whether or not the remote answers — streaming resumes when it does (the run's WAL ticks).
    /// </remarks>
    public async Task FollowRemotePrimaryAsync(StandbyClusterConfig remote, CancellationToken cancellationToken)
    {
        var source = RemoteFor(remote);
        if (!server.Initialized) throw new InvalidOperationException("the data directory holds no initialized cluster");
        if (server.Running && server.Role == PostgresRole.Primary)
            throw new InvalidOperationException("refusing to reconfigure a running primary as a standby leader (demote it first)");
        server.Role = PostgresRole.Replica;
        server.Upstream = source.UpstreamName;
        if (!server.Running)
        {
            await Delay(0.3).ConfigureAwait(false);
            server.Running = true;
        }
    }

    /// <summary>The standby cluster's remote primary, when the run models one.</summary>
    public SimRemotePrimary? Remote { get; set; }

    /// <summary>Position of this node in the run (which links to the remote work).</summary>
    public int NodeIndex { get; set; }

    private SimRemotePrimary RemoteFor(StandbyClusterConfig remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (Remote is null) throw new NotSupportedException("this run models no remote primary: run it with SimulationOptions.StandbyCluster");
        if (!remote.Equals(Remote.Section)) throw new InvalidOperationException($"standby_cluster points at {remote.Describe()}, which the simulation does not run");
        return Remote;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TimelineHistoryEntry>> ReadTimelineHistoryAsync(int timeline, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TimelineHistoryEntry>>(server.PastBranches
            .Select(p => new TimelineHistoryEntry(p.Timeline, p.EndLsn, "no recovery target specified")).ToList());

    /// <inheritdoc />
    public async Task<long?> SetSynchronousStandbyNamesAsync(string? value, CancellationToken cancellationToken)
    {
        await Delay(0.05).ConfigureAwait(false);
        server.SynchronousStandbyNames = value;
        return server.Running && server.Role == PostgresRole.Primary ? server.Lsn : null;
    }

    /// <summary>The primary's pg_stat_replication, as the run computes it.</summary>
    public Func<SimPostgresServer, System.Collections.Immutable.ImmutableArray<ReplicationConnection>>? ReplicationOf { get; set; }

    /// <summary>Raised after a promotion (the checker validates it).</summary>
    public event Action<SimPostgresServer>? Promoted;

    private Task Delay(double seconds)
    {
        var tcs = new TaskCompletionSource();
        scheduler.After(TimeSpan.FromSeconds(seconds), actor, tcs.SetResult);
        return tcs.Task;
    }
}
