namespace PgHa.Decisions;

/// <summary>What the local PostgreSQL is (or was when it stopped), from <c>pg_is_in_recovery()</c> or <c>pg_controldata</c>.</summary>
public enum PostgresRole
{
    /// <summary>Not known (no data directory, or pg_control unreadable).</summary>
    Unknown,
    /// <summary>Out of recovery: accepts writes when running.</summary>
    Primary,
    /// <summary>In recovery (standby.signal present).</summary>
    Replica,
}
