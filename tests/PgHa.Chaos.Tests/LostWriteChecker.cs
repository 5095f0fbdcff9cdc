using System.Globalization;

namespace PgHa.Chaos.Tests;

/// <summary>
/// One acknowledged insert: its id, the timeline and WAL insert position it was written at (read in the same
/// statement), the server port that took it, and when it was sent and acknowledged.
/// </summary>
internal sealed record AckedWrite(long Id, int Timeline, ulong Lsn, int Port, long Sent, long At);

/// <summary>Why an acknowledged write is not on the final leader.</summary>
internal enum LossKind
{
    /// <summary>Written on the surviving history (the final timeline, or an ancestor well before its switch point) and still gone: never allowed.</summary>
    OnSurvivingHistory,

    /// <summary>Written on an ancestor timeline beyond its switch point: the WAL a failover left behind.</summary>
    BeyondSwitchPoint,

    /// <summary>Written on a timeline that is neither the final one nor one of its ancestors.</summary>
    AbandonedTimeline,
}

/// <summary>One acknowledged write missing on the final leader, how it was lost, and whether that breaks the rules.</summary>
internal sealed record LostWrite(AckedWrite Write, LossKind Kind, ulong LagBytes, bool Violation)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"id {Write.Id} (TL{Write.Timeline} at {LostWriteChecker.FormatLsn(Write.Lsn)}, port {Write.Port}): {Kind}{(Kind == LossKind.BeyondSwitchPoint ? $" by {LagBytes} bytes" : "")}{(Violation ? " VIOLATION" : "")}");
}

/// <summary>
/// "No acknowledged write lost", judged against the final leader's timeline history. In synchronous mode every
/// missing acknowledged write is a violation. In asynchronous mode a failover may leave behind what the old primary
/// wrote after the new primary's switch point, but no more than <c>maximum_lag_on_failover</c> bytes of it; losing a
/// write on the surviving history is a violation in both modes.
/// </summary>
internal static class LostWriteChecker
{
    /// <summary>
    /// The insert position is read right after the row, before its commit record; a write this close below a switch
    /// point may still have committed after it, so it counts as beyond the switch point (lag 0).
    /// </summary>
    public const ulong CommitSlack = 64 * 1024;

    /// <param name="acks">Acknowledged writes.</param>
    /// <param name="present">Ids the final leader has.</param>
    /// <param name="finalTimeline">The final leader's timeline.</param>
    /// <param name="switchPoints">Its history: each ancestor timeline and the LSN where it ended.</param>
    /// <param name="synchronous">Synchronous mode: nothing acknowledged may be lost.</param>
    /// <param name="maximumLagOnFailover">The bytes a failover may leave behind in asynchronous mode.</param>
    public static IReadOnlyList<LostWrite> Check(IEnumerable<AckedWrite> acks, IReadOnlySet<long> present, int finalTimeline,
        IReadOnlyDictionary<int, ulong> switchPoints, bool synchronous, ulong maximumLagOnFailover)
    {
        var lost = new List<LostWrite>();
        foreach (var ack in acks)
        {
            if (present.Contains(ack.Id)) continue;
            if (ack.Timeline == finalTimeline)
            {
                lost.Add(new LostWrite(ack, LossKind.OnSurvivingHistory, 0, true));
            }
            else if (switchPoints.TryGetValue(ack.Timeline, out var end))
            {
                if (ack.Lsn + CommitSlack <= end)
                {
                    lost.Add(new LostWrite(ack, LossKind.OnSurvivingHistory, 0, true));
                }
                else
                {
                    var lag = ack.Lsn > end ? ack.Lsn - end : 0;
                    lost.Add(new LostWrite(ack, LossKind.BeyondSwitchPoint, lag, synchronous || lag > maximumLagOnFailover));
                }
            }
            else
            {
                lost.Add(new LostWrite(ack, LossKind.AbandonedTimeline, 0, true));
            }
        }
        return lost;
    }

    /// <summary>Parses a PostgreSQL timeline history file (<c>tli\tswitchpoint\treason</c> lines) into timeline → switch point.</summary>
    public static Dictionary<int, ulong> ParseHistory(string content)
    {
        var points = new Dictionary<int, ulong>();
        foreach (var line in content.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#')) continue;
            var fields = line.Split('\t', StringSplitOptions.TrimEntries);
            if (fields.Length < 2 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var timeline))
                throw new FormatException($"not a timeline history line: '{line}'");
            points[timeline] = ParseLsn(fields[1]);
        }
        return points;
    }

    public static ulong ParseLsn(string lsn)
    {
        var slash = lsn.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) throw new FormatException($"not an LSN: '{lsn}'");
        return (ulong.Parse(lsn[..slash], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32)
               | ulong.Parse(lsn[(slash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public static string FormatLsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}";
}
