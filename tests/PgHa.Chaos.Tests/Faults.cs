using System.Globalization;
using PgHa.EndToEnd.Tests.Harness;

namespace PgHa.Chaos.Tests;

/// <summary>The faults a chaos round can inject. Most aim at the leader, where they hurt.</summary>
internal enum FaultKind
{
    /// <summary>kill -9 of the leader's agent; its PostgreSQL keeps running until the write fence stops it.</summary>
    KillLeaderAgent,

    /// <summary>kill -9 of the leader's agent and postmaster (a node death).</summary>
    KillLeaderAgentAndPostgres,

    /// <summary>kill -9 of the leader's postmaster (the agent restarts it or fails over).</summary>
    KillLeaderPostgres,

    /// <summary>SIGSTOP of the leader's agent for a while (a frozen agent: GC pause, swapped out), then SIGCONT.</summary>
    FreezeLeaderAgent,

    /// <summary>etcd frozen (SIGSTOP): the whole DCS stops answering, then SIGCONT.</summary>
    DcsOutage,

    /// <summary>The leader's link to etcd blackholed both ways: the leader alone loses the DCS.</summary>
    PartitionLeaderFromDcs,

    /// <summary>The leader's requests reach etcd (renewals land) but its replies are blackholed: a one-way partition.</summary>
    LeaderDcsRepliesLost,

    /// <summary>The leader's link to etcd cut: open connections reset, new ones refused.</summary>
    CutLeaderFromDcs,

    /// <summary>0.5–2.5 s of latency on the leader's link to etcd, both ways.</summary>
    SlowLeaderDcs,

    /// <summary>Peers cannot reach the leader: its REST and PostgreSQL proxies blackholed (replication and /patroni checks hang).</summary>
    PartitionLeaderFromReplicas,

    /// <summary>A slow disk: the leader's postmaster and every backend SIGSTOPped for 2–6 s, then SIGCONT.</summary>
    SlowLeaderDisk,

    /// <summary>kill -9 of a replica's agent and postmaster.</summary>
    KillReplica,

    /// <summary>A replica's link to etcd blackholed.</summary>
    PartitionReplicaFromDcs,
}

/// <summary>One injected fault: what, on which node, for how long, and how to undo it.</summary>
internal sealed class InjectedFault
{
    private readonly List<Action> _undo = [];

    public InjectedFault(FaultKind kind, ClusterNode target, TimeSpan hold)
    {
        Kind = kind;
        Target = target;
        Hold = hold;
    }

    public FaultKind Kind { get; }
    public ClusterNode Target { get; }
    public TimeSpan Hold { get; }
    public string Detail { get; set; } = "";

    public void OnHeal(Action undo) => _undo.Add(undo);

    /// <summary>Undoes everything, in reverse order.</summary>
    public void Heal()
    {
        for (var i = _undo.Count - 1; i >= 0; i--) _undo[i]();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind} on {Target.Name} for {Hold.TotalSeconds:0.0} s{(Detail.Length > 0 ? " (" + Detail + ")" : "")}");
}

/// <summary>Injects faults into a <see cref="ChaosCluster"/>; every choice comes from the seeded <see cref="Random"/>.</summary>
internal sealed class FaultInjector(ChaosCluster chaos, Random random)
{
    private PgHaCluster Cluster => chaos.Cluster;

    /// <summary>A hold between <paramref name="min"/> and <paramref name="max"/> seconds, rounded to 0.1 s.</summary>
    private TimeSpan Hold(double min, double max) => TimeSpan.FromSeconds(Math.Round(min + random.NextDouble() * (max - min), 1));

    public InjectedFault Inject(FaultKind kind, ClusterHealth health)
    {
        var leader = health.Leader;
        var replica = health.Replicas[random.Next(health.Replicas.Count)];
        switch (kind)
        {
            case FaultKind.KillLeaderAgent:
            {
                var fault = new InjectedFault(kind, leader, Hold(4, 15));
                fault.Detail = $"agent pid {leader.KillAgent()}";
                fault.OnHeal(() => RestartAgent(leader));
                return fault;
            }
            case FaultKind.KillLeaderAgentAndPostgres:
            {
                var fault = new InjectedFault(kind, leader, Hold(4, 15));
                var postmaster = leader.PostmasterPid();
                fault.Detail = $"agent pid {leader.KillAgent()}, postmaster pid {postmaster?.ToString(CultureInfo.InvariantCulture) ?? "none"}";
                if (postmaster is { } pm) Os.Signal(pm, Os.SIGKILL);
                fault.OnHeal(() => RestartAgent(leader));
                return fault;
            }
            case FaultKind.KillLeaderPostgres:
            {
                var fault = new InjectedFault(kind, leader, Hold(1, 5));
                var postmaster = leader.PostmasterPid();
                fault.Detail = $"postmaster pid {postmaster?.ToString(CultureInfo.InvariantCulture) ?? "none"}";
                if (postmaster is { } pm) Os.Signal(pm, Os.SIGKILL);
                return fault;
            }
            case FaultKind.FreezeLeaderAgent:
            {
                var fault = new InjectedFault(kind, leader, Hold(3, 15));
                var pid = leader.AgentPid;
                fault.Detail = $"agent pid {pid}";
                Os.Signal(pid, Os.SIGSTOP);
                fault.OnHeal(() => Os.Signal(pid, Os.SIGCONT));
                return fault;
            }
            case FaultKind.DcsOutage:
            {
                var fault = new InjectedFault(kind, leader, Hold(3, 15));
                Cluster.Etcd.Freeze();
                fault.OnHeal(() => Cluster.Etcd.Thaw());
                return fault;
            }
            case FaultKind.PartitionLeaderFromDcs:
                return Blackhole(kind, leader, chaos.Proxies(leader).Dcs, Hold(3, 15));
            case FaultKind.PartitionReplicaFromDcs:
                return Blackhole(kind, replica, chaos.Proxies(replica).Dcs, Hold(3, 15));
            case FaultKind.LeaderDcsRepliesLost:
            {
                var proxy = chaos.Proxies(leader).Dcs;
                var fault = new InjectedFault(kind, leader, Hold(3, 15)) { Detail = proxy.Name + " replies blackholed" };
                proxy.Set(Direction.ToClient, LinkMode.Stall);
                fault.OnHeal(proxy.Heal);
                return fault;
            }
            case FaultKind.CutLeaderFromDcs:
            {
                var proxy = chaos.Proxies(leader).Dcs;
                var fault = new InjectedFault(kind, leader, Hold(3, 15)) { Detail = proxy.Name + " cut" };
                proxy.Cut();
                fault.OnHeal(proxy.Heal);
                return fault;
            }
            case FaultKind.SlowLeaderDcs:
            {
                var proxy = chaos.Proxies(leader).Dcs;
                var delay = TimeSpan.FromMilliseconds(500 + random.Next(2000));
                var fault = new InjectedFault(kind, leader, Hold(5, 15)) { Detail = $"{proxy.Name} +{delay.TotalMilliseconds:0} ms each way" };
                proxy.SetBoth(LinkMode.Delay, delay);
                fault.OnHeal(proxy.Heal);
                return fault;
            }
            case FaultKind.PartitionLeaderFromReplicas:
            {
                var proxies = chaos.Proxies(leader);
                var fault = new InjectedFault(kind, leader, Hold(3, 15)) { Detail = $"{proxies.Rest.Name} and {proxies.Postgres.Name} blackholed" };
                proxies.Rest.SetBoth(LinkMode.Stall);
                proxies.Postgres.SetBoth(LinkMode.Stall);
                fault.OnHeal(proxies.Rest.Heal);
                fault.OnHeal(proxies.Postgres.Heal);
                return fault;
            }
            case FaultKind.SlowLeaderDisk:
            {
                var fault = new InjectedFault(kind, leader, Hold(2, 6));
                var postmaster = leader.PostmasterPid();
                var stopped = postmaster is { } pm ? WithDescendants(pm) : [];
                foreach (var pid in stopped) Os.Signal(pid, Os.SIGSTOP);
                fault.Detail = $"SIGSTOP to postmaster {postmaster?.ToString(CultureInfo.InvariantCulture) ?? "none"} and {Math.Max(0, stopped.Count - 1)} children";
                fault.OnHeal(() =>
                {
                    foreach (var pid in stopped) Os.Signal(pid, Os.SIGCONT);
                });
                return fault;
            }
            case FaultKind.KillReplica:
            {
                var fault = new InjectedFault(kind, replica, Hold(2, 10));
                var postmaster = replica.PostmasterPid();
                fault.Detail = $"agent pid {replica.KillAgent()}, postmaster pid {postmaster?.ToString(CultureInfo.InvariantCulture) ?? "none"}";
                if (postmaster is { } pm) Os.Signal(pm, Os.SIGKILL);
                fault.OnHeal(() => RestartAgent(replica));
                return fault;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such fault");
        }
    }

    private static InjectedFault Blackhole(FaultKind kind, ClusterNode node, FaultProxy proxy, TimeSpan hold)
    {
        var fault = new InjectedFault(kind, node, hold) { Detail = proxy.Name + " blackholed" };
        proxy.SetBoth(LinkMode.Stall);
        fault.OnHeal(proxy.Heal);
        return fault;
    }

    private static void RestartAgent(ClusterNode node)
    {
        if (!node.IsAgentRunning) node.StartAgent();
    }

    /// <summary>A process and all its descendants (the postmaster's backends and auxiliary processes).</summary>
    private static List<int> WithDescendants(int root)
    {
        var all = Os.Processes();
        var selected = new List<int> { root };
        for (var i = 0; i < selected.Count; i++)
            selected.AddRange(all.Where(p => p.ParentPid == selected[i]).Select(p => p.Pid));
        return selected;
    }
}
