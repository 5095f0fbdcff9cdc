namespace PgHa.Hosting;

/// <summary>The role of the embedded node, as its last HA cycle saw it.</summary>
public enum PgHaRole
{
    /// <summary>No HA cycle has completed yet.</summary>
    Unknown,
    /// <summary>No data directory yet (bootstrapping or cloning, or waiting for a leader to clone from).</summary>
    Uninitialized,
    /// <summary>A data directory exists but PostgreSQL is not running.</summary>
    Stopped,
    /// <summary>PostgreSQL runs as a replica.</summary>
    Replica,
    /// <summary>
    /// PostgreSQL runs as a primary and this node holds the leader lock with a valid guarantee: the only node of the
    /// cluster that accepts writes.
    /// </summary>
    Primary,
    /// <summary>PostgreSQL runs as a primary without a valid leader lock (about to be demoted or fenced).</summary>
    PrimaryWithoutLock,
}
