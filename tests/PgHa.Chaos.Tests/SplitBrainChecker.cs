namespace PgHa.Chaos.Tests;

/// <summary>
/// One write probe of one node: an INSERT on the probe's own session (<paramref name="Session"/> numbers the
/// connections that node's prober opened), sent at <paramref name="Sent"/> and answered at <paramref name="Answered"/>
/// (timestamps of <see cref="TimeProvider.System"/>); <paramref name="Accepted"/> when the commit was acknowledged.
/// </summary>
internal sealed record Probe(string Node, int Session, long Sent, long Answered, bool Accepted, string? Error);

/// <summary>What an interval proves: one commit somewhere inside it, or being a primary all through it.</summary>
internal enum IntervalKind
{
    /// <summary>One acknowledged probe: its commit happened at some instant in [sent, ack].</summary>
    Commit,

    /// <summary>Between two acknowledged probes of one session: a primary throughout [ack₁, sent₂].</summary>
    Span,
}

/// <summary>A stretch of time on one node proven by its probes (timestamps).</summary>
internal sealed record PrimaryInterval(string Node, int Session, IntervalKind Kind, long From, long To);

/// <summary>Two nodes certainly accepting writes at the same instant: the evidence on each side.</summary>
internal sealed record SplitBrain(PrimaryInterval First, PrimaryInterval Second)
{
    public long OverlapFrom => Math.Max(First.From, Second.From);
    public long OverlapTo => Math.Min(First.To, Second.To);
}

/// <summary>
/// The "no two writers" rule, defined on acknowledgement times only so a slow client can never fabricate a violation.
/// <para>
/// A probe's commit happened at some instant between its send and its acknowledgement; nothing more is known. Two
/// consecutive acknowledged probes on the same session (one backend process) prove the server was a primary from the
/// first commit to the second: PostgreSQL leaves primary mode only by shutting down, which ends the session. The
/// first commit lies before the first acknowledgement and the second after the second send, so the server certainly
/// accepted writes throughout [ack₁, sent₂] (a <see cref="IntervalKind.Span"/>). A split brain is a span of one node
/// overlapping a span of another, or a whole [sent, ack] of one node's commit lying inside another node's span.
/// Client-side delays (a late-read acknowledgement, an early-stamped send) only shorten spans and widen commits, so
/// they can hide a violation but never create one.
/// </para>
/// </summary>
internal static class SplitBrainChecker
{
    /// <summary>The intervals every node's probes prove, per node, ordered by start.</summary>
    public static IReadOnlyDictionary<string, List<PrimaryInterval>> Intervals(IEnumerable<Probe> probes)
    {
        var result = new Dictionary<string, List<PrimaryInterval>>();
        foreach (var node in probes.GroupBy(p => p.Node))
        {
            var intervals = new List<PrimaryInterval>();
            Probe? previous = null;
            foreach (var probe in node.OrderBy(p => p.Sent))
            {
                if (!probe.Accepted)
                {
                    previous = null;
                    continue;
                }
                intervals.Add(new PrimaryInterval(probe.Node, probe.Session, IntervalKind.Commit, probe.Sent, probe.Answered));
                if (previous is not null && previous.Session == probe.Session && previous.Answered < probe.Sent)
                    intervals.Add(new PrimaryInterval(probe.Node, probe.Session, IntervalKind.Span, previous.Answered, probe.Sent));
                previous = probe;
            }
            intervals.Sort((x, y) => x.From.CompareTo(y.From));
            result[node.Key] = intervals;
        }
        return result;
    }

    /// <summary>Every pair of intervals on two different nodes that proves both accepted writes at one instant.</summary>
    public static IReadOnlyList<SplitBrain> Find(IEnumerable<Probe> probes)
    {
        var byNode = Intervals(probes);
        var nodes = byNode.Keys.Order(StringComparer.Ordinal).ToList();
        var found = new List<SplitBrain>();
        for (var a = 0; a < nodes.Count; a++)
        {
            for (var b = a + 1; b < nodes.Count; b++)
            {
                var ys = byNode[nodes[b]];
                var longest = ys.Count == 0 ? 0 : ys.Max(y => y.To - y.From);
                foreach (var x in byNode[nodes[a]])
                {
                    // Only intervals starting in [x.From - longest, x.To) can overlap x.
                    for (var i = FirstStartingAtOrAfter(ys, x.From - longest); i < ys.Count && ys[i].From < x.To; i++)
                    {
                        if (Proves(x, ys[i])) found.Add(new SplitBrain(x, ys[i]));
                    }
                }
            }
        }
        return found;
    }

    /// <summary>True when <paramref name="x"/> and <paramref name="y"/> (different nodes) prove writes accepted by both at one instant.</summary>
    public static bool Proves(PrimaryInterval x, PrimaryInterval y) => (x.Kind, y.Kind) switch
    {
        (IntervalKind.Span, IntervalKind.Span) => Math.Max(x.From, y.From) < Math.Min(x.To, y.To),
        (IntervalKind.Commit, IntervalKind.Span) => x.From >= y.From && x.To <= y.To,
        (IntervalKind.Span, IntervalKind.Commit) => y.From >= x.From && y.To <= x.To,
        // Two commits whose windows overlap may still have happened at different instants.
        _ => false,
    };

    private static int FirstStartingAtOrAfter(List<PrimaryInterval> sorted, long from)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid].From < from) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
