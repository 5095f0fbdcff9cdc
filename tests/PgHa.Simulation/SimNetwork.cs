namespace PgHa.Simulation;

/// <summary>Which links work, and how slow they are. Faults flip these switches.</summary>
public sealed class SimNetwork(Random random, int nodes)
{
    private readonly bool[] _dcsCut = new bool[nodes];
    private readonly bool[,] _peerCut = new bool[nodes, nodes];

    /// <summary>The whole DCS is down.</summary>
    public bool DcsOutage { get; set; }
    /// <summary>Extra DCS latency (slow DCS fault).</summary>
    public TimeSpan DcsExtraLatency { get; set; }
    /// <summary>Probability that a DCS reply is lost after the request was applied.</summary>
    public double LostReplyProbability { get; set; }

    /// <summary>Can node <paramref name="node"/> talk to the DCS?</summary>
    public bool CanReachDcs(int node) => !DcsOutage && !_dcsCut[node];

    /// <summary>Can two nodes talk (REST)?</summary>
    public bool CanReachPeer(int a, int b) => !_peerCut[a, b] && !_peerCut[b, a];

    /// <summary>Cut or restore node↔DCS.</summary>
    public void SetDcsCut(int node, bool cut) => _dcsCut[node] = cut;

    /// <summary>Cut or restore node↔node.</summary>
    public void SetPeerCut(int a, int b, bool cut) { _peerCut[a, b] = cut; _peerCut[b, a] = cut; }

    /// <summary>One-way latency of a DCS message.</summary>
    public TimeSpan DcsLatency() => TimeSpan.FromTicks(5_000 + random.NextInt64(40_000)) + DcsExtraLatency; // 0.5–4.5 ms

    /// <summary>True when this reply is lost.</summary>
    public bool LoseReply() => LostReplyProbability > 0 && random.NextDouble() < LostReplyProbability;

    /// <summary>Heals every fault.</summary>
    public void HealAll()
    {
        DcsOutage = false;
        DcsExtraLatency = TimeSpan.Zero;
        LostReplyProbability = 0;
        Array.Clear(_dcsCut);
        Array.Clear(_peerCut);
    }
}
