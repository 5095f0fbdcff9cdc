using System.Collections.Immutable;

namespace PgHa.Host.Configuration;

/// <summary>
/// A PostgreSQL role PgHa connects as (<c>postgresql.authentication.superuser|replication|rewind</c>), with the libpq
/// connection options Patroni passes through.
/// </summary>
public sealed record PgUser
{
    /// <summary><c>username</c>.</summary>
    public string? Username { get; init; }
    /// <summary><c>password</c>.</summary>
    public Secret? Password { get; init; }
    /// <summary><c>sslmode</c>.</summary>
    public string? SslMode { get; init; }
    /// <summary><c>sslkey</c>.</summary>
    public string? SslKey { get; init; }
    /// <summary><c>sslpassword</c>.</summary>
    public Secret? SslPassword { get; init; }
    /// <summary><c>sslcert</c>.</summary>
    public string? SslCert { get; init; }
    /// <summary><c>sslrootcert</c>.</summary>
    public string? SslRootCert { get; init; }
    /// <summary><c>sslcrl</c>.</summary>
    public string? SslCrl { get; init; }
    /// <summary><c>sslcrldir</c>.</summary>
    public string? SslCrlDir { get; init; }
    /// <summary><c>gssencmode</c>.</summary>
    public string? GssEncMode { get; init; }
    /// <summary><c>channel_binding</c>.</summary>
    public string? ChannelBinding { get; init; }
}

/// <summary><c>postgresql.authentication</c>.</summary>
public sealed record PgAuthentication
{
    /// <summary><c>superuser</c>: PgHa's own connections.</summary>
    public PgUser Superuser { get; init; } = new();
    /// <summary><c>replication</c>: replicas stream with it.</summary>
    public PgUser Replication { get; init; } = new();
    /// <summary><c>rewind</c>: pg_rewind connects with it (PostgreSQL 11+); the superuser when absent.</summary>
    public PgUser? Rewind { get; init; }
}

/// <summary><c>postgresql.callbacks</c>: commands run as <c>&lt;command&gt; &lt;action&gt; &lt;role&gt; &lt;scope&gt;</c>.</summary>
public sealed record PgCallbacks
{
    /// <summary><c>on_start</c>.</summary>
    public string? OnStart { get; init; }
    /// <summary><c>on_stop</c>.</summary>
    public string? OnStop { get; init; }
    /// <summary><c>on_restart</c>.</summary>
    public string? OnRestart { get; init; }
    /// <summary><c>on_reload</c>.</summary>
    public string? OnReload { get; init; }
    /// <summary><c>on_role_change</c>.</summary>
    public string? OnRoleChange { get; init; }
}

/// <summary>
/// One command-line option of a tool (<c>pg_basebackup</c>, <c>pg_rewind</c>, <c>initdb</c>): a flag
/// (<c>- data-checksums</c> → <c>--data-checksums</c>) or a name/value pair (<c>- encoding: UTF8</c> → <c>--encoding=UTF8</c>).
/// </summary>
/// <param name="Name">Option name without dashes.</param>
/// <param name="Value">Value, or null for a flag.</param>
public sealed record ToolOption(string Name, string? Value)
{
    /// <summary><c>--name=value</c> or <c>--name</c>.</summary>
    public string ToArgument() => Value is null ? $"--{Name}" : $"--{Name}={Value}";

    /// <inheritdoc />
    public override string ToString() => ToArgument();
}

/// <summary>A custom replica creation method (<c>postgresql.&lt;method&gt;</c>, listed in <c>create_replica_methods</c>).</summary>
public sealed record ReplicaMethodConfig
{
    /// <summary><c>command</c> (required).</summary>
    public required string Command { get; init; }
    /// <summary><c>no_leader</c> (alias <c>no_master</c>): the method works without a running leader.</summary>
    public bool NoLeader { get; init; }
    /// <summary><c>keep_data</c>: do not empty the data directory before running it.</summary>
    public bool KeepData { get; init; }
    /// <summary><c>no_params</c>: do not pass Patroni's default parameters.</summary>
    public bool NoParams { get; init; }
    /// <summary>Every other key, passed to the command as <c>--key=value</c>.</summary>
    public OrderedMap<ScalarValue> Options { get; init; } = OrderedMap<ScalarValue>.Empty;
}

/// <summary>The <c>postgresql</c> section: the local PostgreSQL instance.</summary>
public sealed record PostgresqlConfig
{
    /// <summary><c>listen</c> (required): <c>host:port</c>, host may be a comma-separated list (<c>listen_addresses</c>).</summary>
    public required HostPort Listen { get; init; }
    /// <summary><c>connect_address</c> (required by PgHa): how other nodes reach this PostgreSQL; published as <c>conn_url</c>.</summary>
    public required HostPort ConnectAddress { get; init; }
    /// <summary><c>proxy_address</c>: a connection pooler in front of PostgreSQL, published as <c>proxy_url</c>.</summary>
    public HostPort? ProxyAddress { get; init; }
    /// <summary><c>data_dir</c> (required).</summary>
    public required string DataDir { get; init; }
    /// <summary><c>config_dir</c>: where the configuration files are written (default <see cref="DataDir"/>).</summary>
    public string? ConfigDir { get; init; }
    /// <summary><c>bin_dir</c>: directory of the PostgreSQL binaries (default: PATH).</summary>
    public string? BinDir { get; init; }
    /// <summary><c>bin_name</c>: binary name overrides (<c>pg_ctl</c>, <c>initdb</c>, <c>pg_controldata</c>, <c>pg_basebackup</c>, <c>postgres</c>, <c>pg_isready</c>, <c>pg_rewind</c>).</summary>
    public OrderedMap<string> BinName { get; init; } = OrderedMap<string>.Empty;
    /// <summary><c>pgpass</c>: path of the password file PgHa writes for tools.</summary>
    public string? Pgpass { get; init; }
    /// <summary><c>database</c> (default <c>postgres</c>): the database PgHa connects to.</summary>
    public string Database { get; init; } = "postgres";
    /// <summary><c>authentication</c>.</summary>
    public PgAuthentication Authentication { get; init; } = new();
    /// <summary><c>parameters</c>: GUCs with their YAML types kept.</summary>
    public OrderedMap<ScalarValue> Parameters { get; init; } = OrderedMap<ScalarValue>.Empty;
    /// <summary><c>pg_hba</c>: lines of <c>pg_hba.conf</c>.</summary>
    public ImmutableArray<string> PgHba { get; init; } = [];
    /// <summary><c>pg_ident</c>: lines of <c>pg_ident.conf</c>.</summary>
    public ImmutableArray<string> PgIdent { get; init; } = [];
    /// <summary><c>callbacks</c>.</summary>
    public PgCallbacks Callbacks { get; init; } = new();
    /// <summary><c>create_replica_methods</c> (default <c>[basebackup]</c>).</summary>
    public ImmutableArray<string> CreateReplicaMethods { get; init; } = ["basebackup"];
    /// <summary>
    /// Sections of the custom methods named in <see cref="CreateReplicaMethods"/>, then of the other method sections
    /// (a mapping with a <c>command</c>), which <c>standby_cluster.create_replica_methods</c> may name.
    /// </summary>
    public OrderedMap<ReplicaMethodConfig> ReplicaMethods { get; init; } = OrderedMap<ReplicaMethodConfig>.Empty;
    /// <summary><c>basebackup</c>: extra <c>pg_basebackup</c> options (a list of flags/single-key maps, or a map).</summary>
    public ImmutableArray<ToolOption> Basebackup { get; init; } = [];
    /// <summary><c>use_pg_rewind</c> (local; the dynamic <c>postgresql.use_pg_rewind</c> is the cluster-wide one).</summary>
    public bool? UsePgRewind { get; init; }
    /// <summary><c>rewind</c>: extra <c>pg_rewind</c> options.</summary>
    public ImmutableArray<ToolOption> Rewind { get; init; } = [];
    /// <summary><c>remove_data_directory_on_rewind_failure</c>.</summary>
    public bool RemoveDataDirectoryOnRewindFailure { get; init; }
    /// <summary><c>remove_data_directory_on_diverged_timelines</c>.</summary>
    public bool RemoveDataDirectoryOnDivergedTimelines { get; init; }
    /// <summary><c>pre_promote</c>: fencing command; a non-zero exit aborts the promotion.</summary>
    public string? PrePromote { get; init; }
    /// <summary><c>before_stop</c>: command run before stopping PostgreSQL (exit code ignored).</summary>
    public string? BeforeStop { get; init; }
    /// <summary><c>pg_ctl_timeout</c> in seconds (default 60).</summary>
    public int PgCtlTimeout { get; init; } = 60;
    /// <summary><c>use_unix_socket</c>: local connections through the socket.</summary>
    public bool UseUnixSocket { get; init; }
    /// <summary><c>use_unix_socket_repl</c>: replication connections to the local node through the socket.</summary>
    public bool UseUnixSocketRepl { get; init; }
    /// <summary><c>recovery_conf</c>: extra recovery settings.</summary>
    public OrderedMap<ScalarValue> RecoveryConf { get; init; } = OrderedMap<ScalarValue>.Empty;
    /// <summary><c>custom_conf</c>: a base configuration file used instead of <c>postgresql.base.conf</c>.</summary>
    public string? CustomConf { get; init; }

    /// <summary>The <c>conn_url</c> published in the member key: <c>postgres://connect_address/postgres</c>.</summary>
    public string ConnUrl => $"postgres://{ConnectAddress}/postgres";

    /// <summary>The <c>proxy_url</c>, when a proxy address is set.</summary>
    public string? ProxyUrl => ProxyAddress is null ? null : $"postgres://{ProxyAddress}/postgres";
}
