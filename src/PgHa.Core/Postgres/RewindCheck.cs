using PgHa.Cluster;

namespace PgHa.Postgres;

/// <summary>Whether a data directory can follow an upstream as it is.</summary>
internal enum RewindNeed
{
    /// <summary>The local history is a prefix of the upstream's: follow as is.</summary>
    NotNeeded,
    /// <summary>The local WAL went past the point where the upstream's history forked off: rewind (or reclone).</summary>
    Needed,
    /// <summary>
    /// A former primary stopped before the fork point: it has not diverged exactly when its shutdown checkpoint
    /// record ends at the fork point. pg_rewind decides that precisely (it reports "no rewind required").
    /// </summary>
    AskPgRewind,
}

/// <summary>
/// Patroni's divergence rule (<c>_check_timeline_and_lsn</c>), fed with the upstream's timeline and history file.
/// Pure, so every branch is unit-tested.
/// </summary>
internal static class RewindCheck
{
    /// <param name="localTimeline">Timeline the local WAL ends on.</param>
    /// <param name="localLsn">Where it ends: the replay position of a replica, the latest checkpoint of a stopped former primary.</param>
    /// <param name="localInRecovery">True for a replica (running in recovery or shut down in recovery).</param>
    /// <param name="upstreamTimeline">The upstream's current timeline.</param>
    /// <param name="upstreamHistory">The upstream's history file for that timeline (empty on timeline 1).</param>
    public static RewindNeed Decide(int localTimeline, long localLsn, bool localInRecovery, int upstreamTimeline, IReadOnlyList<TimelineHistoryEntry> upstreamHistory)
    {
        if (localTimeline > upstreamTimeline) return RewindNeed.Needed;
        if (localTimeline == upstreamTimeline) return RewindNeed.NotNeeded;
        foreach (var entry in upstreamHistory)
        {
            if (entry.Timeline == localTimeline)
            {
                if (localInRecovery) return localLsn > entry.SwitchLsn ? RewindNeed.Needed : RewindNeed.NotNeeded;
                return localLsn >= entry.SwitchLsn ? RewindNeed.Needed : RewindNeed.AskPgRewind;
            }
            // The upstream's history passed over the local timeline: the local one branched off somewhere else.
            if (entry.Timeline > localTimeline) return RewindNeed.Needed;
        }
        return RewindNeed.Needed;
    }
}
