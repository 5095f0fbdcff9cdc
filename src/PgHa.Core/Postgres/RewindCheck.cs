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
    /// <summary>
    /// The upstream is still a standby (a leader not promoted yet, or a cascading source) and has not got as far as
    /// the local data directory: where its history will fork is not known yet.
    /// </summary>
    Undecided,
}

/// <summary>Where the timeline of a running replica was read.</summary>
internal enum LocalTimelineSource
{
    /// <summary>
    /// <c>IDENTIFY_SYSTEM</c> over a replication connection to the replica itself: the timeline of the last record it
    /// replayed, which goes with its replay position.
    /// </summary>
    IdentifySystem,
    /// <summary>The streaming WAL receiver's <c>received_tli</c>.</summary>
    WalReceiver,
    /// <summary>
    /// The last restartpoint's timeline (<c>pg_control_checkpoint()</c>): all that SQL shows without a WAL receiver. It
    /// lags until the next restartpoint, which can make a replica that replayed a newer timeline look diverged.
    /// </summary>
    Restartpoint,
}

/// <summary>A <see cref="RewindCheck"/> outcome and why, in words for the log.</summary>
internal sealed record RewindVerdict(RewindNeed Need, string Reason);

/// <summary>
/// Patroni's divergence rule (<c>_check_timeline_and_lsn</c>), fed with the upstream's timeline and history file.
/// Pure, so every branch is unit-tested.
/// </summary>
internal static class RewindCheck
{
    /// <summary>The outcome of <see cref="Assess"/> alone.</summary>
    public static RewindNeed Decide(int localTimeline, long localLsn, bool localInRecovery, int upstreamTimeline, IReadOnlyList<TimelineHistoryEntry>? upstreamHistory,
        long? upstreamStandbyLsn = null) =>
        Assess(localTimeline, localLsn, localInRecovery, upstreamTimeline, upstreamHistory, upstreamStandbyLsn).Need;

    /// <summary>Whether the local data directory diverged from the upstream, and why.</summary>
    /// <param name="localTimeline">Timeline the local WAL ends on.</param>
    /// <param name="localLsn">Where it ends: the replay position of a replica, the latest checkpoint of a stopped former primary.</param>
    /// <param name="localInRecovery">True for a replica (running in recovery or shut down in recovery).</param>
    /// <param name="upstreamTimeline">The upstream's current timeline (a standby's: the one it replays on).</param>
    /// <param name="upstreamHistory">The upstream's history file for that timeline (empty on timeline 1; null when a standby's could not be read).</param>
    /// <param name="upstreamStandbyLsn">
    /// Null for a primary upstream. For a standby, how far its WAL goes: a promotion forks its history at or after that
    /// point, so a local position not beyond it on the same timeline is safe whatever happens next.
    /// </param>
    public static RewindVerdict Assess(int localTimeline, long localLsn, bool localInRecovery, int upstreamTimeline, IReadOnlyList<TimelineHistoryEntry>? upstreamHistory,
        long? upstreamStandbyLsn = null)
    {
        if (upstreamStandbyLsn is { } standbyLsn)
        {
            if (localTimeline > upstreamTimeline)
                return new(RewindNeed.Undecided, $"the upstream is a standby still on timeline {upstreamTimeline}, behind local timeline {localTimeline}");
            if (localTimeline == upstreamTimeline)
            {
                // A stopped former primary's position is its shutdown checkpoint's start: the standby must be past it.
                return (localInRecovery ? localLsn <= standbyLsn : localLsn < standbyLsn)
                    ? new(RewindNeed.NotNeeded, $"same timeline {localTimeline} as the upstream standby, whose WAL goes to {Lsn.Format(standbyLsn)}, not behind the local {Lsn.Format(localLsn)}")
                    : new(RewindNeed.Undecided, $"the upstream standby's WAL on timeline {localTimeline} goes to {Lsn.Format(standbyLsn)}, behind the local {Lsn.Format(localLsn)}; a promotion now would fork before it");
            }
            if (upstreamHistory is null)
                return new(RewindNeed.Undecided, $"the history of the upstream standby's timeline {upstreamTimeline} could not be read");
        }
        upstreamHistory ??= [];
        if (localTimeline > upstreamTimeline)
            return new(RewindNeed.Needed, $"local timeline {localTimeline} is newer than the upstream's {upstreamTimeline}");
        if (localTimeline == upstreamTimeline)
            return new(RewindNeed.NotNeeded, $"same timeline {localTimeline} as the upstream");
        var position = localInRecovery ? "replayed up to" : "shut down at checkpoint";
        foreach (var entry in upstreamHistory)
        {
            if (entry.Timeline == localTimeline)
            {
                var fork = $"the fork point {Lsn.Format(entry.SwitchLsn)} where the upstream's history leaves timeline {localTimeline}";
                if (localInRecovery)
                {
                    return localLsn > entry.SwitchLsn
                        ? new(RewindNeed.Needed, $"{position} {Lsn.Format(localLsn)}, past {fork}")
                        : new(RewindNeed.NotNeeded, $"{position} {Lsn.Format(localLsn)}, not past {fork}");
                }
                return localLsn >= entry.SwitchLsn
                    ? new(RewindNeed.Needed, $"{position} {Lsn.Format(localLsn)}, at or past {fork}")
                    : new(RewindNeed.AskPgRewind, $"{position} {Lsn.Format(localLsn)}, before {fork}");
            }
            // The upstream's history passed over the local timeline: the local one branched off somewhere else.
            if (entry.Timeline > localTimeline)
                return new(RewindNeed.Needed, $"the upstream's history goes through timeline {entry.Timeline} but not through {localTimeline}");
        }
        return new(RewindNeed.Needed, $"timeline {localTimeline} is not in the history of the upstream's timeline {upstreamTimeline}");
    }

    /// <summary>
    /// The timeline to judge a running replica on, best source first: what <c>IDENTIFY_SYSTEM</c> reported for it
    /// (Patroni's source), the streaming WAL receiver's, and only when neither is known the last restartpoint's.
    /// </summary>
    /// <param name="identified">The timeline <c>IDENTIFY_SYSTEM</c> reported, null when it could not be asked.</param>
    /// <param name="streamingTimeline">The WAL receiver's <c>received_tli</c> while it streams, else null.</param>
    /// <param name="restartpointTimeline">The last restartpoint's timeline.</param>
    public static (int Timeline, LocalTimelineSource Source) RunningReplicaTimeline(int? identified, int? streamingTimeline, int restartpointTimeline) =>
        identified is > 0 ? (identified.Value, LocalTimelineSource.IdentifySystem)
        : streamingTimeline is > 0 ? (streamingTimeline.Value, LocalTimelineSource.WalReceiver)
        : (restartpointTimeline, LocalTimelineSource.Restartpoint);
}
