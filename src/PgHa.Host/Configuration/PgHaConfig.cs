using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Loop;

namespace PgHa.Host.Configuration;

/// <summary>
/// The local configuration of one <c>pgha</c> node, read from a Patroni-format YAML file (see
/// <see cref="PgHaConfigLoader"/>). Immutable; secrets are <see cref="Secret"/>s, hidden from <c>ToString</c>.
/// </summary>
public sealed record PgHaConfig
{
    /// <summary><c>scope</c> (required): the cluster name.</summary>
    public required string Scope { get; init; }
    /// <summary><c>namespace</c> (default <c>/service/</c>): the DCS path prefix of all clusters.</summary>
    public string Namespace { get; init; } = "/service/";
    /// <summary><c>name</c> (required): this member's name, unique in the cluster.</summary>
    public required string Name { get; init; }
    /// <summary><c>restapi</c>.</summary>
    public required RestApiConfig RestApi { get; init; }
    /// <summary><c>ctl</c>.</summary>
    public CtlConfig Ctl { get; init; } = new();
    /// <summary>The one DCS section.</summary>
    public required DcsConfig Dcs { get; init; }
    /// <summary><c>bootstrap</c>.</summary>
    public BootstrapConfig Bootstrap { get; init; } = new();
    /// <summary><c>postgresql</c>.</summary>
    public required PostgresqlConfig Postgresql { get; init; }
    /// <summary><c>watchdog</c>.</summary>
    public WatchdogConfig Watchdog { get; init; } = new();
    /// <summary>
    /// The tags this member publishes, in configuration order. As in Patroni, false-valued built-in boolean tags
    /// (<c>nofailover</c>, <c>clonefrom</c>, <c>noloadbalance</c>, <c>nosync</c>, <c>nostream</c>) are left out, except
    /// <c>nofailover: false</c> next to <c>failover_priority</c> and <c>nosync: false</c> next to <c>sync_priority</c>;
    /// custom tags are published whatever their value.
    /// </summary>
    public MemberTags Tags { get; init; } = MemberTags.Empty;
    /// <summary><c>log</c>.</summary>
    public LogConfig Log { get; init; } = new();
    /// <summary><c>pgha</c>: PgHa-only settings.</summary>
    public PgHaSettings PgHa { get; init; } = new();

    /// <summary>The DCS prefix of this cluster: <c>/&lt;namespace&gt;/&lt;scope&gt;/</c> with single slashes.</summary>
    public string ClusterPrefix
    {
        get
        {
            var raw = "/" + Namespace.Trim('/') + "/" + Scope + "/";
            while (raw.Contains("//", StringComparison.Ordinal)) raw = raw.Replace("//", "/", StringComparison.Ordinal);
            return raw;
        }
    }

    /// <summary>How this node presents itself: name, <c>conn_url</c> and <c>api_url</c>.</summary>
    public NodeIdentity Identity => new(Name, Postgresql.ConnUrl, RestApi.ApiUrl);

    /// <summary>
    /// <c>bootstrap.dcs</c> as the <c>config</c> key: parsed by <see cref="ConfigCodec"/> from the Patroni JSON, so
    /// <see cref="GlobalConfig.RawJson"/> is byte-identical to what Patroni would write.
    /// </summary>
    public GlobalConfig ToGlobalConfig() => ConfigCodec.Parse(Bootstrap.Dcs.RawJson, default, []);

    /// <summary>The options of this node's HA loop.</summary>
    public HaNodeOptions ToHaNodeOptions() => new()
    {
        Identity = Identity,
        Tags = Tags,
        BootstrapConfig = ToGlobalConfig(),
        CanBootstrap = PgHa.CanBootstrap,
        CanCreateReplicaWithoutLeader = Postgresql.CreateReplicaMethods.Any(m => Postgresql.ReplicaMethods.TryGetValue(m, out var rm) && rm.NoLeader),
        FenceSafetyMargin = PgHa.FenceSafetyMargin,
        PeerStatusTimeout = PgHa.PeerStatusTimeout,
    };
}
