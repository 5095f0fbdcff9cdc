namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// The DCS server a test cluster runs on (etcd, ZooKeeper, a Consul API server), started in the cluster's directory on
/// free loopback ports. Scenarios that only need "the leader key" and "the DCS stops answering" work on any of them.
/// </summary>
internal interface IClusterDcs : IAsyncDisposable
{
    /// <summary>The DCS section of the nodes' Patroni YAML, indented for the top level (for example <c>etcd3:\n  hosts: …</c>).</summary>
    string YamlSection { get; }

    /// <summary>The server's log file, shown in failure messages.</summary>
    string LogPath { get; }

    /// <summary>The server's process id (0 when it is not a process of its own); kept alive when the cluster sweeps leftovers.</summary>
    int Pid { get; }

    bool IsFrozen { get; }

    Task StartAsync();

    /// <summary>The DCS keeps its sockets open but answers nothing (SIGSTOP).</summary>
    void Freeze();

    /// <summary>The DCS answers again (SIGCONT).</summary>
    void Thaw();

    /// <summary>The member name in <c>/&lt;namespace&gt;/&lt;scope&gt;/leader</c>, or null when there is none or the DCS does not answer.</summary>
    Task<string?> LeaderAsync(string keyPrefix);
}
