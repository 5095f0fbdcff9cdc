using PgHa.Cluster;

namespace PgHa.Simulation;

/// <summary>One physical replication slot of a simulated server (<c>pg_replication_slots</c> row).</summary>
/// <param name="Name">Slot name.</param>
public sealed class SimSlot(string name)
{
    /// <summary>Slot name.</summary>
    public string Name { get; } = name;
    /// <summary><c>restart_lsn</c>: WAL from here on is kept for this slot.</summary>
    public long Position { get; set; }
    /// <summary>A standby streams through it right now (PostgreSQL refuses to drop or advance it).</summary>
    public bool Active { get; set; }
    /// <summary>Physical (the simulation models no logical decoding).</summary>
    public ReplicationSlotType Type => ReplicationSlotType.Physical;
}

/// <summary>
/// The WAL a simulated server still has and the slots that hold it (<c>pg_wal</c> plus <c>pg_replslot</c>): a running
/// server recycles WAL older than both its oldest slot and its own position minus the keep window
/// (<c>wal_keep_size</c>); a standby needing older WAL cannot stream from it until it is cloned again.
/// </summary>
public sealed class SimWal
{
    /// <summary>Slots by name.</summary>
    public SortedDictionary<string, SimSlot> Slots { get; } = new(StringComparer.Ordinal);

    /// <summary>Oldest WAL position still on disk (only grows, except for a fresh data directory).</summary>
    public long OldestWal { get; private set; }

    /// <summary>A fresh data directory (initdb, or pg_basebackup, which copies no slots) whose WAL starts at <paramref name="start"/>.</summary>
    public void Reset(long start)
    {
        Slots.Clear();
        OldestWal = start;
    }

    /// <summary>A checkpoint (restartpoint on a standby) removes WAL no slot and no keep window needs.</summary>
    public void Recycle(long lsn, long keep)
    {
        var horizon = lsn - keep;
        foreach (var s in Slots.Values) horizon = Math.Min(horizon, s.Position);
        if (horizon > OldestWal) OldestWal = horizon;
    }
}
