using PgHa.Decisions;

namespace PgHa.Simulation;

/// <summary>
/// A simulated PostgreSQL server of one node: data directory, postmaster, role, timeline branch and WAL position, and
/// the write fence. It is not part of the agent, so it keeps running (and the fence keeps working) when the agent is
/// stopped or killed.
/// </summary>
public sealed class SimPostgresServer(SimScheduler scheduler, string name)
{
    private static long s_nextBranch;

    /// <summary>Member name of the node.</summary>
    public string Name { get; } = name;
    /// <summary>Data directory initialized.</summary>
    public bool Initialized { get; set; }
    /// <summary>System identifier.</summary>
    public string? SystemId { get; set; }
    /// <summary>Postmaster running.</summary>
    public bool Running { get; set; }
    /// <summary>Role (as pg_control records it when stopped).</summary>
    public PostgresRole Role { get; set; } = PostgresRole.Unknown;
    /// <summary>Timeline number.</summary>
    public int Timeline { get; set; }
    /// <summary>Unique id of the WAL history branch this server is on (two promotions from one timeline give different branches).</summary>
    public long Branch { get; set; }
    /// <summary>Branches this server's history passed through, with the LSN where each ended.</summary>
    public List<(long Branch, int Timeline, long EndLsn)> PastBranches { get; } = [];
    /// <summary>WAL position in bytes.</summary>
    public long Lsn { get; set; }
    /// <summary>Member streamed from.</summary>
    public string? Upstream { get; set; }
    /// <summary><c>synchronous_standby_names</c> PgHa set (kept in a file, so it survives restarts); null: not managed.</summary>
    public string? SynchronousStandbyNames { get; set; }
    /// <summary>Highest WAL position whose commit was acknowledged to a client (primary only; survives as history).</summary>
    public long AckedLsn { get; set; }
    /// <summary>Write fence deadline (ticks), or null when disarmed.</summary>
    public long? FenceAtTicks { get; private set; }
    /// <summary>Planted fault for teeth tests: the fence does nothing.</summary>
    public bool FenceBroken { get; set; }
    /// <summary>Times the fence stopped this server.</summary>
    public int FenceTrips { get; private set; }
    /// <summary>WAL on disk and replication slots (modelled with <see cref="SimulationOptions.Slots"/>).</summary>
    public SimWal Wal { get; } = new();

    /// <summary>True when this server accepts writes.</summary>
    public bool AcceptsWrites => Running && Role == PostgresRole.Primary;

    /// <summary>Creates a new branch id.</summary>
    public static long NewBranch() => Interlocked.Increment(ref s_nextBranch);

    /// <summary>True once an armed fence's deadline has passed: the server may not run as a primary until re-armed or disarmed.</summary>
    public bool FenceTripped => !FenceBroken && FenceAtTicks is { } at && scheduler.NowTicks >= at;

    /// <summary>Arms, moves or disarms the fence.</summary>
    public void SetFence(DateTimeOffset? until)
    {
        if (until is null) { FenceAtTicks = null; return; }
        var at = (until.Value - SimScheduler.Epoch).Ticks;
        FenceAtTicks = at;
        scheduler.At(at, null, () =>
        {
            if (FenceAtTicks != at || FenceBroken) return;
            if (Running && Role == PostgresRole.Primary)
            {
                FenceTrips++;
                Running = false; // immediate shutdown by the fence
            }
        });
    }

    /// <summary>True when this server's history is a prefix of <paramref name="upstream"/>'s, so it can stream without rewind.</summary>
    public bool IsOnHistoryOf(SimPostgresServer upstream)
    {
        if (Branch == upstream.Branch) return true;
        foreach (var (branch, _, end) in upstream.PastBranches)
            if (branch == Branch) return Lsn <= end;
        return false;
    }

    /// <summary>The LSN where this server's history and the upstream's diverged (the rewind target).</summary>
    public long ForkPointWith(SimPostgresServer upstream)
    {
        var mine = new Dictionary<long, long>();
        foreach (var (b, _, end) in PastBranches) mine[b] = end;
        mine[Branch] = Lsn;
        long fork = 0;
        foreach (var (b, _, end) in upstream.PastBranches)
            if (mine.TryGetValue(b, out var myEnd)) fork = Math.Max(fork, Math.Min(end, myEnd));
        if (mine.TryGetValue(upstream.Branch, out var cur)) fork = Math.Max(fork, Math.Min(cur, upstream.Lsn));
        return fork;
    }

    /// <summary>Takes on the upstream's history up to its current position (after clone or rewind).</summary>
    public void AdoptHistoryOf(SimPostgresServer upstream, long lsn)
    {
        PastBranches.Clear();
        PastBranches.AddRange(upstream.PastBranches);
        Branch = upstream.Branch;
        Timeline = upstream.Timeline;
        Lsn = lsn;
        SystemId = upstream.SystemId;
    }

    /// <summary>Promotion: a new timeline branch starting at the current position.</summary>
    public void Promote()
    {
        PastBranches.Add((Branch, Timeline, Lsn));
        Branch = NewBranch();
        Timeline++;
        Role = PostgresRole.Primary;
        Upstream = null;
    }
}
