namespace PgHa.Decisions;

/// <summary>A long-running PostgreSQL action the executor runs in the background while the loop keeps cycling.</summary>
/// <param name="Kind">What is running.</param>
/// <param name="StartedAt">When it started.</param>
public sealed record BusyAction(BusyActionKind Kind, DateTimeOffset StartedAt);

/// <summary>Kinds of <see cref="BusyAction"/>.</summary>
public enum BusyActionKind
{
    /// <summary>initdb and first start after winning the bootstrap race.</summary>
    Bootstrap,
    /// <summary>pg_basebackup (or another replica method) from a running member.</summary>
    CreateReplica,
    /// <summary>Starting PostgreSQL (crash recovery, restart in place, start as replica).</summary>
    Start,
    /// <summary><c>pg_ctl promote</c> and the following CHECKPOINT.</summary>
    Promote,
    /// <summary>Stopping and restarting as a replica.</summary>
    Demote,
    /// <summary>pg_rewind or re-clone of a diverged former primary.</summary>
    Rewind,
    /// <summary>A restart asked for through the REST API (immediate or scheduled).</summary>
    Restart,
    /// <summary>Wipe and re-clone asked for through the REST API (<c>POST /reinitialize</c>).</summary>
    Reinitialize,
}
