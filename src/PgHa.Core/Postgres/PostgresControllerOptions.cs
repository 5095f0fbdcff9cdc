using PgHa.Cluster;

namespace PgHa.Postgres;

/// <summary>
/// The <c>postgresql:</c> section of the local configuration (Patroni's names in brackets), as the
/// <see cref="PostgresController"/> needs it. Validated by <see cref="PostgresControllerOptionsValidator"/>.
/// </summary>
public sealed class PostgresControllerOptions
{
    /// <summary>The data directory (<c>data_dir</c>). Must be an absolute path.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// Directory of <c>initdb</c>, <c>pg_ctl</c>, <c>pg_basebackup</c>, <c>pg_rewind</c> and <c>pg_controldata</c>
    /// (<c>bin_dir</c>). Empty: looked up on PATH (Debian puts only some of them there; prefer an absolute path).
    /// </summary>
    public string BinDirectory { get; set; } = "";

    /// <summary>
    /// Where PgHa keeps its own files for this data directory: the write-fence deadline and the fencer's pid and log,
    /// the followed upstream, the bootstrap marker, the postmaster log. Kept outside the data directory because
    /// <c>pg_basebackup</c> and <c>pg_rewind</c> copy everything inside it. Empty: <c>&lt;data_dir&gt;.pgha</c> beside
    /// the data directory.
    /// </summary>
    public string StateDirectory { get; set; } = "";

    /// <summary><c>listen</c>: <c>host[,host…]:port</c>; sets <c>listen_addresses</c> and <c>port</c>.</summary>
    public string Listen { get; set; } = "127.0.0.1:5432";

    /// <summary><c>connect_address</c>: <c>host:port</c> other members use to reach this server (published in <c>conn_url</c>).</summary>
    public string ConnectAddress { get; set; } = "";

    /// <summary>
    /// <c>unix_socket_directories</c> of this instance, also used for the agent's own connections. Empty: no socket;
    /// the agent connects over TCP to the first listen address (loopback for a wildcard).
    /// </summary>
    public string UnixSocketDirectory { get; set; } = "";

    /// <summary><c>scope</c>: the cluster name, written as <c>cluster_name</c>.</summary>
    public string Scope { get; set; } = "";

    /// <summary><c>name</c>: this member's name; the <c>application_name</c> it streams with and its slot name.</summary>
    public string MemberName { get; set; } = "";

    /// <summary><c>authentication.superuser</c>: created by initdb, used for the agent's own queries.</summary>
    public PostgresCredentials Superuser { get; set; } = new("postgres");

    /// <summary><c>authentication.replication</c>: used by <c>pg_basebackup</c> and by <c>primary_conninfo</c>.</summary>
    public PostgresCredentials Replication { get; set; } = new("replicator");

    /// <summary><c>authentication.rewind</c>: used by <c>pg_rewind</c>; null: the superuser.</summary>
    public PostgresCredentials? Rewind { get; set; }

    /// <summary>
    /// <c>bootstrap.initdb</c>: each item <c>name=value</c> or a bare flag (<c>data-checksums</c>), passed as
    /// <c>--name=value</c> / <c>--flag</c>. <c>username</c>/<c>pwfile</c> come from <see cref="Superuser"/>.
    /// </summary>
    public IList<string> InitdbOptions { get; set; } = [];

    /// <summary><c>pg_hba</c> lines written to <c>pg_hba.conf</c>; empty keeps the file initdb wrote.</summary>
    public IList<string> PgHba { get; set; } = [];

    /// <summary>
    /// <c>parameters</c>: GUCs written to the generated <c>postgresql.conf</c>. They override PgHa's replication
    /// defaults (<c>wal_level</c>, <c>max_wal_senders</c>, …) but may not name the settings PgHa always owns
    /// (<c>listen_addresses</c>, <c>port</c>, <c>cluster_name</c>, <c>hot_standby</c>, <c>unix_socket_directories</c>,
    /// <c>primary_conninfo</c>, <c>primary_slot_name</c>).
    /// </summary>
    public IDictionary<string, string> Parameters { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary><c>use_pg_rewind</c>: rewind a diverged former primary instead of leaving it unable to follow.</summary>
    public bool UsePgRewind { get; set; }

    /// <summary>
    /// <c>remove_data_directory_on_rewind_failure</c> (and <c>…_on_diverged_timelines</c>): when a diverged data directory
    /// cannot be rewound, wipe it and clone the upstream afresh.
    /// </summary>
    public bool RemoveDataDirectoryOnRewindFailure { get; set; }

    /// <summary><c>pg_ctl_timeout</c>: bound of one start, stop or promote (Patroni: 60 s).</summary>
    public TimeSpan PgCtlTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>bootstrap.post_bootstrap</c>: a script run once after the bootstrapped primary first started, with the
    /// superuser connection URL as its argument (and <c>PGPASSWORD</c> set). Empty: none.
    /// </summary>
    public string PostBootstrap { get; set; } = "";

    /// <summary><c>basebackup</c>: extra <c>pg_basebackup</c> options, each <c>name=value</c> or a bare flag.</summary>
    public IList<string> BasebackupOptions { get; set; } = [];

    /// <summary>
    /// <c>create_replica_methods</c> with each custom method's section, tried in order when creating a replica; empty
    /// means <c>[basebackup]</c>. <c>basebackup</c> uses <see cref="BasebackupOptions"/>.
    /// </summary>
    public IList<ReplicaCreationMethod> CreateReplicaMethods { get; set; } = [];

    /// <summary>
    /// Sections of custom replica methods (<c>postgresql.&lt;name&gt;</c>) that <see cref="CreateReplicaMethods"/> does not
    /// list: a standby cluster's <c>standby_cluster.create_replica_methods</c> (dynamic configuration) may name them.
    /// </summary>
    public IList<ReplicaCreationMethod> OtherReplicaMethods { get; set; } = [];

    /// <summary><c>bootstrap.method</c> when it is not <c>initdb</c>: the command that creates the first primary instead of initdb.</summary>
    public CustomBootstrapMethod? BootstrapMethod { get; set; }

    /// <summary>
    /// <c>recovery_conf</c>: extra recovery settings written for a replica next to <c>primary_conninfo</c>
    /// (<c>restore_command</c>, <c>archive_cleanup_command</c>, <c>recovery_min_apply_delay</c>, …). May not name the
    /// settings PgHa owns (<c>primary_conninfo</c>, <c>primary_slot_name</c>, <c>recovery_target_timeline</c>).
    /// </summary>
    public IDictionary<string, string> RecoveryConf { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The replica creation methods in effect (<see cref="CreateReplicaMethods"/>, or <c>basebackup</c> alone).</summary>
    public IReadOnlyList<ReplicaCreationMethod> EffectiveReplicaMethods =>
        CreateReplicaMethods.Count > 0 ? CreateReplicaMethods.ToList() : [ReplicaCreationMethod.Basebackup];

    /// <summary>True when some replica creation method works without a member to clone from (<c>no_leader</c>).</summary>
    public bool CanCreateReplicaWithoutLeader => EffectiveReplicaMethods.Any(m => m.WorksWithoutLeader);

    /// <summary>
    /// The methods a standby cluster clones its remote with (Patroni): <c>standby_cluster.create_replica_methods</c> in
    /// its order, each resolved to its local section (<see cref="CreateReplicaMethods"/>, then
    /// <see cref="OtherReplicaMethods"/>); a name without a section is a command of that name with no options, as in
    /// Patroni. An empty list means <c>[basebackup]</c>; <see cref="CreateReplicaMethods"/>' order plays no part.
    /// </summary>
    public IReadOnlyList<ReplicaCreationMethod> ReplicaMethodsFor(StandbyClusterConfig standbyCluster)
    {
        ArgumentNullException.ThrowIfNull(standbyCluster);
        if (standbyCluster.CreateReplicaMethods.IsDefaultOrEmpty) return [ReplicaCreationMethod.Basebackup];
        var methods = new List<ReplicaCreationMethod>();
        foreach (var name in standbyCluster.CreateReplicaMethods.Distinct(StringComparer.Ordinal))
        {
            methods.Add(name == ReplicaCreationMethod.BasebackupName ? ReplicaCreationMethod.Basebackup
                : CreateReplicaMethods.Concat(OtherReplicaMethods).FirstOrDefault(m => m.Name == name) ?? new ReplicaCreationMethod(name));
        }
        return methods;
    }

    /// <summary>
    /// <c>pgpass</c>: when set, passwords for <c>primary_conninfo</c> are written to this passfile (mode 0600) and
    /// referenced with <c>passfile=</c>; when empty, the password is written inline into <c>primary_conninfo</c>.
    /// </summary>
    public string PgPassFile { get; set; } = "";

    /// <summary>How often the fencer process compares the deadline with the clock (20–50 ms is the intended range).</summary>
    public TimeSpan FencePollInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Connect timeout of the agent's own connections (status, checkpoint, slots).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Command timeout of the agent's own queries.</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The state directory in effect (<see cref="StateDirectory"/> or its default).</summary>
    public string EffectiveStateDirectory => StateDirectory.Length > 0
        ? StateDirectory
        : Path.TrimEndingDirectorySeparator(DataDirectory) + ".pgha";

    /// <summary>The rewind credentials in effect (<see cref="Rewind"/> or the superuser).</summary>
    public PostgresCredentials EffectiveRewind => Rewind ?? Superuser;
}

/// <summary>One <c>authentication.*</c> entry.</summary>
/// <param name="Username">Role name.</param>
/// <param name="Password">Password; null when authentication does not need one (trust, peer, certificates).</param>
/// <param name="Connection">
/// The entry's other libpq options (<c>sslmode</c>, <c>sslrootcert</c>, <c>gssencmode</c>, …), applied wherever this
/// user connects; null when none are configured (see <see cref="EffectiveConnection"/>).
/// </param>
public sealed record PostgresCredentials(string Username, string? Password = null, PostgresConnectionParameters? Connection = null)
{
    // Settable, not init-only: AddPgHa(configuration) binds onto the default instances, and the configuration binder's
    // source generator skips init-only properties (user, password and options would be silently ignored).

    /// <summary>Role name.</summary>
    public string Username { get; set; } = Username;

    /// <summary>Password; null when authentication does not need one (trust, peer, certificates).</summary>
    public string? Password { get; set; } = Password;

    /// <summary>The entry's other libpq options; null when none are configured.</summary>
    public PostgresConnectionParameters? Connection { get; set; } = Connection;

    /// <summary>The connection options in effect: <see cref="Connection"/>, or none configured.</summary>
    public PostgresConnectionParameters EffectiveConnection => Connection ?? new PostgresConnectionParameters();

    /// <summary>Never prints the password.</summary>
    public override string ToString() => Password is null ? Username : Username + " (password set)";
}
