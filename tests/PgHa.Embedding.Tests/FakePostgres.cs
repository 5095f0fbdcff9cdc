using PgHa.Cluster;
using PgHa.Decisions;
using PgHa.Postgres;

namespace PgHa.Embedding.Tests;

/// <summary>
/// A PostgreSQL double with the state machine the HA loop drives: empty → bootstrapped (stopped primary) or cloned
/// (stopped replica) → running as primary or replica; promote moves to a new timeline. Operator restarts and
/// re-clones are counted. No processes, no files.
/// </summary>
internal sealed class FakePostgres(FakeWal? wal = null, string systemId = "7100000000000000001") : IPostgresControl, IPostgresAdministration
{
    private readonly FakeWal _wal = wal ?? new FakeWal();
    private readonly Lock _gate = new();
    private bool _initialized;
    private bool _running;
    private PostgresRole _role;
    private int _timeline;
    private long _lsn;
    private string? _upstream;

    public int StopCount { get; private set; }
    public int RestartCount { get { lock (_gate) return _restarts; } }
    public int ReinitializeCount { get { lock (_gate) return _reinitializes; } }
    private int _restarts;
    private int _reinitializes;
    public DateTimeOffset? Fence { get; private set; }
    public bool IsRunning { get { lock (_gate) return _running; } }

    public Task<PostgresStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // A primary writes; a streaming replica is instantly caught up with the shared WAL.
            if (_running && _role == PostgresRole.Primary) _lsn = Interlocked.Add(ref _wal.Lsn, 1024);
            else if (_running && _upstream is not null) _lsn = Volatile.Read(ref _wal.Lsn);
            return Task.FromResult(!_initialized ? PostgresStatus.Uninitialized : new PostgresStatus
            {
                DataDirectory = DataDirectoryState.Initialized,
                SystemId = systemId,
                IsRunning = _running,
                Role = _role,
                Timeline = _timeline,
                Lsn = _lsn,
                Upstream = _upstream,
                IsStreaming = _running && _role == PostgresRole.Replica && _upstream is not null,
                ReplayedLsn = _role == PostgresRole.Replica ? _lsn : null,
                ReceivedLsn = _role == PostgresRole.Replica ? _lsn : null,
                ServerVersion = 170000,
            });
        }
    }

    public Task BootstrapAsync(CancellationToken cancellationToken) => Set(() => (_initialized, _running, _role, _timeline, _lsn) = (true, false, PostgresRole.Primary, 1, Interlocked.Add(ref _wal.Lsn, 0x3000000)));

    public Task CreateReplicaAsync(Member? source, CancellationToken cancellationToken) => Set(() => (_initialized, _running, _role, _timeline, _upstream) = (true, false, PostgresRole.Replica, 1, source?.Name));

    public Task StartPrimaryAsync(CancellationToken cancellationToken) => Set(() => (_running, _role) = (true, PostgresRole.Primary));

    public Task FollowAsync(Member? upstream, CancellationToken cancellationToken) => Set(() => (_running, _role, _upstream) = (true, PostgresRole.Replica, upstream?.Name));

    public Task PromoteAsync(CancellationToken cancellationToken) => Set(() => (_running, _role, _timeline, _upstream) = (true, PostgresRole.Primary, _timeline + 1, null));

    public Task StopForDemoteAsync(DemoteMode mode, CancellationToken cancellationToken) => Set(() =>
    {
        if (_running) StopCount++;
        _running = false;
    });

    public Task SetWriteFenceAsync(DateTimeOffset? until, CancellationToken cancellationToken) => Set(() => Fence = until);

    public Task<IReadOnlyDictionary<string, long>> SyncReplicationSlotsAsync(ReplicationSlotPlan plan, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>());

    public Task CreateReplicaFromRemoteAsync(StandbyClusterConfig remote, CancellationToken cancellationToken) =>
        Set(() => (_initialized, _running, _role, _timeline, _upstream) = (true, false, PostgresRole.Replica, 1, remote.UpstreamName));

    public Task FollowRemotePrimaryAsync(StandbyClusterConfig remote, CancellationToken cancellationToken) =>
        Set(() => (_running, _role, _upstream) = (true, PostgresRole.Replica, remote.UpstreamName));

    /// <summary>The last synchronous_standby_names the agent set (these tests run asynchronous clusters: stays unset).</summary>
    public string? SynchronousStandbyNames { get; private set; }

    public Task<long?> SetSynchronousStandbyNamesAsync(string? value, CancellationToken cancellationToken)
    {
        SynchronousStandbyNames = value;
        return Task.FromResult(_running && _role == PostgresRole.Primary ? (long?)_lsn : null);
    }

    public Task<IReadOnlyList<TimelineHistoryEntry>> ReadTimelineHistoryAsync(int timeline, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TimelineHistoryEntry>>([]);

    public Task RestartAsync(Member? upstream, CancellationToken cancellationToken) => Set(() => (_running, _restarts) = (true, _restarts + 1));

    public Task ReloadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<PendingParameter>> ApplyParametersAsync(IReadOnlyDictionary<string, string> parameters, Member? upstream, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PendingParameter>>([]);

    public Task<IReadOnlyList<PendingParameter>> GetPendingRestartAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PendingParameter>>([]);

    public Task ReinitializeAsync(Member source, CancellationToken cancellationToken) =>
        Set(() => (_initialized, _running, _role, _upstream, _reinitializes) = (true, false, PostgresRole.Replica, source.Name, _reinitializes + 1));

    private Task Set(Action change)
    {
        lock (_gate) change();
        return Task.CompletedTask;
    }
}

/// <summary>The WAL position the fake primary writes and its fake replicas stream.</summary>
internal sealed class FakeWal
{
    public long Lsn;
}
