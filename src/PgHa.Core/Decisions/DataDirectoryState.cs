namespace PgHa.Decisions;

/// <summary>State of the local data directory.</summary>
public enum DataDirectoryState
{
    /// <summary>Missing or empty: the node must bootstrap or clone.</summary>
    Empty,
    /// <summary>Contains an initialized cluster (a readable pg_control).</summary>
    Initialized,
    /// <summary>Present but unusable (no pg_control, half-copied): must be reinitialized.</summary>
    Unusable,
}
