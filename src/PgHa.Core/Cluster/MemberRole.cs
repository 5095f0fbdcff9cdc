namespace PgHa.Cluster;

/// <summary>The <c>role</c> a member publishes. Patroni 3.x writes <c>master</c>, 4.x <c>primary</c>; both read as <see cref="Primary"/>.</summary>
public enum MemberRole
{
    /// <summary>Missing or an unrecognised string.</summary>
    Unknown,
    /// <summary><c>primary</c> or <c>master</c>.</summary>
    Primary,
    /// <summary><c>replica</c>.</summary>
    Replica,
    /// <summary><c>standby_leader</c>: lock holder of a standby cluster.</summary>
    StandbyLeader,
    /// <summary><c>demoted</c>.</summary>
    Demoted,
    /// <summary><c>uninitialized</c>: no data directory yet.</summary>
    Uninitialized,
    /// <summary><c>promoted</c>: transient, right after <c>pg_ctl promote</c>.</summary>
    Promoted,
}
