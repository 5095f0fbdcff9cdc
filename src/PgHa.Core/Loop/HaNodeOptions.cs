using PgHa.Cluster;

namespace PgHa.Loop;

/// <summary>Local settings of one node's HA loop.</summary>
public sealed record HaNodeOptions
{
    /// <summary>How the node presents itself.</summary>
    public required NodeIdentity Identity { get; init; }
    /// <summary>Tags from the local configuration.</summary>
    public MemberTags Tags { get; init; } = MemberTags.Empty;
    /// <summary>
    /// The dynamic configuration used until the cluster has one (<c>bootstrap.dcs</c>), and written to the
    /// <c>config</c> key by the node that bootstraps or leads a cluster without one.
    /// </summary>
    public GlobalConfig BootstrapConfig { get; init; } = GlobalConfig.Default;
    /// <summary>This node may bootstrap a new cluster.</summary>
    public bool CanBootstrap { get; init; } = true;
    /// <summary>Some replica creation method works without a member to clone from (<c>no_leader</c>).</summary>
    public bool CanCreateReplicaWithoutLeader { get; init; }
    /// <summary>How long before the lock's guaranteed validity ends the write fence stops PostgreSQL.</summary>
    public TimeSpan FenceSafetyMargin { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Timeout of one peer status request in the leader race (Patroni: 2 s).</summary>
    public TimeSpan PeerStatusTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// The node's own PostgreSQL parameters (<c>postgresql.parameters</c>, without those only the cluster-wide
    /// configuration may set). When given, and the PostgreSQL port implements <see cref="Postgres.IPostgresAdministration"/>,
    /// every change of the <c>config</c> key is applied on the next cycle: the key's <c>postgresql.parameters</c>
    /// overlaid by these. Null: the parameters stay as the port was created with.
    /// </summary>
    public IReadOnlyDictionary<string, string>? LocalPostgresParameters { get; init; }
}
