namespace PgHa.Logging;

/// <summary>
/// Stable event ids of PgHa's log events, grouped by range so operators can alert on them: 1xxx DCS, 2xxx HA
/// decisions, 3xxx PostgreSQL actions, 4xxx host.
/// </summary>
public static class PgHaEventId
{
    /// <summary>The DCS could not be reached.</summary>
    public const int DcsUnavailable = 1001;
    /// <summary>The DCS returned values that could not be parsed.</summary>
    public const int DcsDataProblem = 1002;
    /// <summary>A DCS write lost its race or CAS.</summary>
    public const int DcsWriteRejected = 1003;
    /// <summary>The outcome of one HA cycle (the decision and why).</summary>
    public const int CycleDecision = 2001;
    /// <summary>The leader lock was acquired.</summary>
    public const int LockAcquired = 2002;
    /// <summary>The leader lock could not be renewed.</summary>
    public const int LockLost = 2003;
    /// <summary>The leader lock was released.</summary>
    public const int LockReleased = 2004;
    /// <summary>A cycle took longer than loop_wait.</summary>
    public const int LoopTimeExceeded = 2005;
    /// <summary>Peers were queried for the leader race.</summary>
    public const int PeersQueried = 2006;
    /// <summary>A peer did not answer its status request in the leader race.</summary>
    public const int PeerUnreachable = 2008;
    /// <summary>Shutdown in maintenance mode left PostgreSQL and the lock alone.</summary>
    public const int ShutdownLeavesPostgres = 2009;
    /// <summary>A cycle ended with an unexpected exception (a bug); the loop carried on.</summary>
    public const int CycleFailed = 2007;
    /// <summary>The write fence could not be armed or moved.</summary>
    public const int FenceFailed = 3005;
    /// <summary>A background PostgreSQL action started.</summary>
    public const int ActionStarted = 3001;
    /// <summary>A background PostgreSQL action finished.</summary>
    public const int ActionFinished = 3002;
    /// <summary>A background PostgreSQL action failed.</summary>
    public const int ActionFailed = 3003;
    /// <summary>The local PostgreSQL could not be observed.</summary>
    public const int PostgresUnobservable = 3004;
    /// <summary>Failsafe mode: every member confirmed the leader while the DCS was unreachable.</summary>
    public const int FailsafeConfirmed = 2150;
    /// <summary>Failsafe mode: a member refused or did not answer the leader's confirmation round.</summary>
    public const int FailsafeRefused = 2151;
    /// <summary>Failsafe mode: this node accepted a leader's <c>POST /failsafe</c>.</summary>
    public const int FailsafeAccepted = 2152;
    /// <summary>Failsafe mode: a promotion was held back by a promise given to another leader.</summary>
    public const int FailsafePromotionHeld = 2153;
    /// <summary>Failsafe mode: one member did not confirm the leader (refused, failed or timed out).</summary>
    public const int FailsafeMemberRefused = 2154;
}
