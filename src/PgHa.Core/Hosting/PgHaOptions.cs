using PgHa.Postgres;

namespace PgHa.Hosting;

/// <summary>
/// One embedded node: who it is, the cluster it belongs to and the HA timing it bootstraps the cluster with. Bound from a
/// configuration section by <see cref="PgHaServiceCollectionExtensions.AddPgHa(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>
/// (property names, case-insensitive) and validated when the host starts (<see cref="PgHaOptionsValidator"/>).
/// </summary>
public sealed class PgHaOptions
{
    /// <summary>The configuration section <c>AddPgHa(configuration)</c> is usually given: <c>PgHa</c>.</summary>
    public const string SectionName = "PgHa";

    /// <summary>Patroni's <c>scope</c>: the cluster name (required).</summary>
    public string Scope { get; set; } = "";

    /// <summary>Patroni's <c>name</c>: this member's name, unique in the cluster (required).</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The URL of this node's <c>/patroni</c> endpoint as peers reach it, for example <c>http://10.0.0.5:8008/patroni</c>
    /// (required; published as <c>api_url</c>). Peers ask it for the node's WAL position in a leader race, so it must
    /// point at the endpoints mapped with <c>MapPgHa</c> (or served by <c>pgha</c>).
    /// </summary>
    public string ApiUrl { get; set; } = "";

    /// <summary>
    /// How peers and clients reach this node's PostgreSQL, <c>host:port</c> (published as <c>conn_url</c>). Empty: the
    /// <see cref="Postgres"/> options' <c>ConnectAddress</c>.
    /// </summary>
    public string PostgresConnectAddress { get; set; } = "";

    /// <summary><c>ttl</c> in seconds (default 30): lifetime of the leader lock and of the member key.</summary>
    public int Ttl { get; set; } = 30;

    /// <summary><c>loop_wait</c> in seconds (default 10): the HA cycle period.</summary>
    public int LoopWait { get; set; } = 10;

    /// <summary><c>retry_timeout</c> in seconds (default 10): deadline of one DCS or PostgreSQL operation.</summary>
    public int RetryTimeout { get; set; } = 10;

    /// <summary><c>maximum_lag_on_failover</c> in bytes (default 1 MiB): replicas further behind may not take over.</summary>
    public long MaximumLagOnFailover { get; set; } = 1048576;

    /// <summary>This node may bootstrap a new cluster (default true).</summary>
    public bool CanBootstrap { get; set; } = true;

    /// <summary>
    /// Tags this node publishes, name → raw JSON value (<c>"nofailover": "true"</c>, <c>"replicatefrom": "\"db1\""</c>).
    /// </summary>
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How long before the lock's guaranteed validity ends the write fence stops PostgreSQL (default 1 s).</summary>
    public TimeSpan FenceSafetyMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long stopping the node may take: PostgreSQL stopped with a checkpoint, then the lock released (default 130 s,
    /// twice pg_ctl's timeout plus slack, as <c>pgha</c> allows). Set the host's <c>HostOptions.ShutdownTimeout</c> at
    /// least this high, or the host stops waiting first.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>
    /// The local PostgreSQL (Patroni's <c>postgresql</c> section). Used when no other <see cref="IPostgresControl"/> is
    /// registered; its <c>Scope</c> and <c>MemberName</c> default to <see cref="Scope"/> and <see cref="Name"/>.
    /// </summary>
    public PostgresControllerOptions Postgres { get; set; } = new();

    /// <summary>Commands run around PostgreSQL events (<c>PgHa:Callbacks</c>); none by default.</summary>
    public PgHaCallbackOptions Callbacks { get; set; } = new();
}
