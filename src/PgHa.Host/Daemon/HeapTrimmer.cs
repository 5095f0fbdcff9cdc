using Microsoft.Extensions.Logging;

namespace PgHa.Host.Daemon;

/// <summary>
/// Gives the GC heap an idle agent no longer needs back to the system. An agent's live heap is about 2 MiB, but
/// start-up (configuration, the DI containers, NativeAOT's type loader building generic instantiations, bootstrap) and
/// long operations leave several MiB of dead objects in gen1/gen2 that an agent allocating as little as ours reaches
/// only after many minutes, and the GC keeps the regions it compacted out of committed. So every
/// <see cref="CheckEvery"/> the trimmer looks at the committed heap, and once it grew by <see cref="Threshold"/> since
/// the last trim it runs one aggressive (compacting, decommitting) collection: a few milliseconds of one core, a few
/// times an hour when idle. A daemon-wide policy, so it lives in the host and not in the library an embedding
/// service uses.
/// </summary>
internal sealed partial class HeapTrimmer(TimeProvider time, ILogger logger, Func<long> committedBytes, Action collect)
{
    /// <summary>How often the committed heap is looked at.</summary>
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(10);

    /// <summary>Growth of the committed heap since the last trim that makes the next one worth its pause.</summary>
    public const long Threshold = 1L << 20;

    /// <summary>A trimmer of this process's GC heap.</summary>
    public HeapTrimmer(TimeProvider time, ILogger logger)
        : this(time, logger, () => GC.GetGCMemoryInfo().TotalCommittedBytes,
               () => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true))
    {
    }

    /// <summary>Whether the heap grew enough since the last trim (0 before the first) to trim it again.</summary>
    public static bool ShouldTrim(long committed, long afterLastTrim) => committed - afterLastTrim >= Threshold;

    /// <summary>Checks and trims until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await Task.Delay(CheckEvery, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            CheckOnce();
        }
    }

    private long _afterLastTrim;

    /// <summary>One check: trims when the heap grew by <see cref="Threshold"/>; returns whether it did.</summary>
    public bool CheckOnce()
    {
        var before = committedBytes();
        if (!ShouldTrim(before, _afterLastTrim)) return false;
        var started = time.GetTimestamp();
        collect();
        _afterLastTrim = committedBytes();
        LogTrimmed(logger, before >> 10, _afterLastTrim >> 10, time.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    [LoggerMessage(EventId = 4901, Level = LogLevel.Debug,
        Message = "heap trimmed: committed {BeforeKiB} KiB -> {AfterKiB} KiB in {Milliseconds:F1} ms")]
    private static partial void LogTrimmed(ILogger logger, long beforeKiB, long afterKiB, double milliseconds);
}
