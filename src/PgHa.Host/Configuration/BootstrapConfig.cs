using System.Collections.Immutable;

namespace PgHa.Host.Configuration;

/// <summary><c>bootstrap.dcs.postgresql</c>: the cluster-wide PostgreSQL settings of the initial dynamic configuration.</summary>
public sealed record DynamicPostgresqlConfig
{
    /// <summary><c>use_pg_rewind</c> (default false).</summary>
    public bool UsePgRewind { get; init; }
    /// <summary><c>use_slots</c> (default true).</summary>
    public bool UseSlots { get; init; } = true;
    /// <summary><c>parameters</c>.</summary>
    public OrderedMap<ScalarValue> Parameters { get; init; } = OrderedMap<ScalarValue>.Empty;
    /// <summary><c>pg_hba</c>.</summary>
    public ImmutableArray<string> PgHba { get; init; } = [];
    /// <summary><c>pg_ident</c>.</summary>
    public ImmutableArray<string> PgIdent { get; init; } = [];
    /// <summary><c>recovery_conf</c>.</summary>
    public OrderedMap<ScalarValue> RecoveryConf { get; init; } = OrderedMap<ScalarValue>.Empty;
}

/// <summary>
/// <c>bootstrap.dcs</c>: the dynamic configuration written to the <c>config</c> key when this node bootstraps the
/// cluster. Typed values with Patroni's defaults, and <see cref="RawJson"/>, the whole subtree exactly as Patroni would
/// write it (<c>json.dumps(..., separators=(',', ':'))</c> of the YAML as loaded).
/// </summary>
public sealed record DynamicConfig
{
    /// <summary><c>ttl</c> (default 30).</summary>
    public int Ttl { get; init; } = 30;
    /// <summary><c>loop_wait</c> (default 10).</summary>
    public int LoopWait { get; init; } = 10;
    /// <summary><c>retry_timeout</c> (default 10).</summary>
    public int RetryTimeout { get; init; } = 10;
    /// <summary><c>maximum_lag_on_failover</c> in bytes (default 1048576).</summary>
    public long MaximumLagOnFailover { get; init; } = 1048576;
    /// <summary><c>maximum_lag_on_syncnode</c> in bytes (default -1: disabled).</summary>
    public long MaximumLagOnSyncnode { get; init; } = -1;
    /// <summary><c>primary_start_timeout</c> (alias <c>master_start_timeout</c>, default 300).</summary>
    public int PrimaryStartTimeout { get; init; } = 300;
    /// <summary><c>primary_stop_timeout</c> (alias <c>master_stop_timeout</c>, default 0).</summary>
    public int PrimaryStopTimeout { get; init; }
    /// <summary><c>synchronous_mode</c>.</summary>
    public bool SynchronousMode { get; init; }
    /// <summary><c>synchronous_mode_strict</c>.</summary>
    public bool SynchronousModeStrict { get; init; }
    /// <summary><c>synchronous_node_count</c> (default 1).</summary>
    public int SynchronousNodeCount { get; init; } = 1;
    /// <summary><c>failsafe_mode</c>.</summary>
    public bool FailsafeMode { get; init; }
    /// <summary><c>check_timeline</c>.</summary>
    public bool CheckTimeline { get; init; }
    /// <summary><c>pause</c>.</summary>
    public bool Pause { get; init; }
    /// <summary><c>max_timelines_history</c> (default 0: keep all).</summary>
    public int MaxTimelinesHistory { get; init; }
    /// <summary><c>postgresql</c>.</summary>
    public DynamicPostgresqlConfig Postgresql { get; init; } = new();
    /// <summary>The whole <c>bootstrap.dcs</c> subtree as Patroni JSON (<c>{}</c> when absent).</summary>
    public string RawJson { get; init; } = "{}";
}

/// <summary>A custom bootstrap method (<c>bootstrap.&lt;method&gt;</c> named by <c>bootstrap.method</c>).</summary>
public sealed record BootstrapMethodConfig
{
    /// <summary><c>command</c> (required).</summary>
    public required string Command { get; init; }
    /// <summary><c>keep_existing_recovery_conf</c>.</summary>
    public bool KeepExistingRecoveryConf { get; init; }
    /// <summary><c>no_params</c>.</summary>
    public bool NoParams { get; init; }
    /// <summary><c>recovery_conf</c>: recovery settings for the first start.</summary>
    public OrderedMap<ScalarValue> RecoveryConf { get; init; } = OrderedMap<ScalarValue>.Empty;
    /// <summary>Every other key, passed to the command as <c>--key=value</c>.</summary>
    public OrderedMap<ScalarValue> Options { get; init; } = OrderedMap<ScalarValue>.Empty;
}

/// <summary>A <c>bootstrap.users</c> entry (removed in Patroni 4; accepted with a warning).</summary>
/// <param name="Password">The password.</param>
/// <param name="Options">CREATE ROLE options (<c>createrole</c>, <c>createdb</c>, …).</param>
public sealed record BootstrapUser(Secret? Password, ImmutableArray<string> Options);

/// <summary>The <c>bootstrap</c> section: how a new cluster is created.</summary>
public sealed record BootstrapConfig
{
    /// <summary><c>dcs</c>: the initial dynamic configuration.</summary>
    public DynamicConfig Dcs { get; init; } = new();
    /// <summary><c>method</c> (default <c>initdb</c>).</summary>
    public string Method { get; init; } = "initdb";
    /// <summary>The section of a custom <see cref="Method"/>.</summary>
    public OrderedMap<BootstrapMethodConfig> Methods { get; init; } = OrderedMap<BootstrapMethodConfig>.Empty;
    /// <summary><c>initdb</c>: options (<c>- data-checksums</c>, <c>- encoding: UTF8</c>).</summary>
    public ImmutableArray<ToolOption> Initdb { get; init; } = [];
    /// <summary><c>pg_hba</c> (old place of the initial pg_hba lines).</summary>
    public ImmutableArray<string> PgHba { get; init; } = [];
    /// <summary><c>post_bootstrap</c> (alias <c>post_init</c>): run once after the cluster is initialized.</summary>
    public string? PostBootstrap { get; init; }
    /// <summary><c>users</c>: roles to create (removed in Patroni 4).</summary>
    public OrderedMap<BootstrapUser> Users { get; init; } = OrderedMap<BootstrapUser>.Empty;
}
