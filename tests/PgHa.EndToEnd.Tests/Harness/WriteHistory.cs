using System.Globalization;
using System.Text;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// Who accepted writes when, merged from the probes (each node, every 80 ms) and the writer's acknowledgements, and
/// cut into blocks of consecutive writes on the same node. In a correct cluster every node forms at most one block:
/// once another node has accepted a write, the previous primary never accepts one again. A node appearing in two
/// blocks means two nodes accepted writes over overlapping periods — a split brain.
/// </summary>
internal sealed class WriteHistory
{
    /// <summary>A run of accepted writes on one node, from the first to the last acknowledgement (timestamps).</summary>
    public sealed record Block(string Node, long First, long Last, int Count);

    /// <summary>One accepted write: the node, when it was sent, and when its acknowledgement arrived (it committed in between).</summary>
    public sealed record Write(string Node, long Sent, long At);

    private WriteHistory(IReadOnlyList<Write> accepted, long origin)
    {
        Accepted = accepted;
        Origin = origin;
        var blocks = new List<Block>();
        foreach (var (node, _, at) in accepted)
        {
            if (blocks.Count > 0 && blocks[^1].Node == node) blocks[^1] = blocks[^1] with { Last = at, Count = blocks[^1].Count + 1 };
            else blocks.Add(new Block(node, at, at, 1));
        }
        Blocks = blocks;
    }

    /// <summary>Accepted writes in the order their acknowledgements arrived.</summary>
    public IReadOnlyList<Write> Accepted { get; }
    public IReadOnlyList<Block> Blocks { get; }
    public long Origin { get; }

    public static WriteHistory Of(PgHaCluster cluster, WriteProbes probes, Writer writer, long origin) => new(
        [.. probes.Results.Where(r => r.Accepted).Select(r => new Write(r.Node, r.Started, r.Finished))
            .Concat(writer.Acks.Select(a => new Write(cluster.NodeByPort(a.Port)?.Name ?? $"port {a.Port}", a.Sent, a.At)))
            .OrderBy(e => e.At)],
        origin);

    /// <summary>The probes' history alone, for scenarios without an application writer.</summary>
    public static WriteHistory Of(WriteProbes probes, long origin) => new(
        [.. probes.Results.Where(r => r.Accepted).Select(r => new Write(r.Node, r.Started, r.Finished)).OrderBy(e => e.At)],
        origin);

    /// <summary>Nodes that accepted writes in more than one block (empty when there was never a split brain).</summary>
    public IReadOnlyList<string> NodesInSeveralBlocks => [.. Blocks.GroupBy(b => b.Node).Where(g => g.Count() > 1).Select(g => g.Key)];

    /// <summary>
    /// Acknowledgement times of writes on <paramref name="node"/> (or on any node but it, with <paramref name="except"/>)
    /// acknowledged between two timestamps — the commit happened at that time or before.
    /// </summary>
    public IEnumerable<long> On(string node, long from, long to, bool except = false) =>
        Accepted.Where(e => (e.Node == node) != except && e.At >= from && e.At <= to).Select(e => e.At);

    /// <summary>Writes on <paramref name="node"/> that were sent after <paramref name="after"/> and still accepted — certainly committed after it.</summary>
    public IEnumerable<Write> SentAfter(string node, long after) => Accepted.Where(e => e.Node == node && e.Sent > after);

    /// <summary>Seconds from the scenario's origin.</summary>
    public double Seconds(long at) => Since(Origin, at);

    public static double Since(long from, long to) => TimeProvider.System.GetElapsedTime(from, to).TotalSeconds;

    public override string ToString()
    {
        var sb = new StringBuilder("writes accepted, in order (seconds from the scenario's start): ");
        sb.Append(string.Join(" → ", Blocks.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Node} ×{b.Count} [{Seconds(b.First):0.000}..{Seconds(b.Last):0.000}]"))));
        return sb.ToString();
    }
}
