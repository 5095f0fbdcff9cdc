using PgHa.Callbacks;
using PgHa.Dcs.Consul;
using PgHa.Dcs.Consul.Client;
using PgHa.Dcs.Etcd;
using PgHa.Dcs.ZooKeeper;
using PgHa.Host.Configuration;
using PgHa.Postgres;
using PgHa.Watchdog;

namespace PgHa.Host.Daemon;

/// <summary>Maps the validated configuration onto the options of the library components.</summary>
public static class ComponentOptions
{
    /// <summary>PostgreSQL settings that only the cluster-wide (dynamic) configuration may set.</summary>
    public static readonly IReadOnlySet<string> ClusterWideParameters = new HashSet<string>(StringComparer.Ordinal)
    {
        "max_connections", "max_locks_per_transaction", "max_worker_processes", "max_prepared_transactions", "wal_level",
        "track_commit_timestamp", "max_wal_senders", "max_replication_slots", "wal_keep_segments", "wal_keep_size",
    };

    /// <summary>The etcd adapter's options (etcd3 section; the v2 <c>etcd:</c> section is served by the v3 API too).</summary>
    public static EtcdDcsOptions Etcd(PgHaConfig config, EtcdConfig etcd)
    {
        var options = new EtcdDcsOptions
        {
            Protocol = etcd.Protocol,
            Namespace = config.Namespace,
            Scope = config.Scope,
            Name = config.Name,
            RequestTimeout = TimeSpan.FromSeconds(config.Bootstrap.Dcs.RetryTimeout),
            Username = etcd.Username,
            Password = etcd.Password?.Reveal(),
            CaCert = etcd.CaCert,
            Cert = etcd.Cert,
            Key = etcd.Key,
        };
        foreach (var endpoint in etcd.Endpoints) options.Endpoints.Add(endpoint);
        return options;
    }

    /// <summary>The Consul adapter's options (<c>consul:</c> section): <c>url</c>, else <c>scheme://host:port</c>.</summary>
    /// <exception cref="FormatException">The agent URL or the consistency mode cannot be used; the message names the setting.</exception>
    public static ConsulDcsOptions Consul(PgHaConfig config, ConsulConfig consul)
    {
        if (!Uri.TryCreate(consul.BaseUrl, UriKind.Absolute, out var address))
            throw new FormatException($"url/host: '{consul.BaseUrl}' is not an absolute URL of the Consul agent");
        var options = new ConsulDcsOptions
        {
            Address = address,
            Namespace = config.Namespace,
            Scope = config.Scope,
            Name = config.Name,
            RequestTimeout = TimeSpan.FromSeconds(config.Bootstrap.Dcs.RetryTimeout),
            Token = consul.Token?.Reveal(),
            Datacenter = consul.Dc,
            Consistency = consul.Consistency switch
            {
                "default" or "" => ConsulConsistency.Default,
                "consistent" => ConsulConsistency.Consistent,
                "stale" => ConsulConsistency.Stale,
                _ => throw new FormatException($"consistency: '{consul.Consistency}' is not one of default, consistent, stale"),
            },
            Verify = consul.Verify,
            CaCert = consul.CaCert,
            Cert = consul.Cert,
            Key = consul.Key,
        };
        foreach (var check in consul.Checks) options.Checks.Add(check);
        options.RegisterService = consul.RegisterService;
        foreach (var tag in consul.ServiceTags) options.ServiceTags.Add(tag);
        options.ServiceCheckInterval = ParseConsulDuration(consul.ServiceCheckInterval, "service_check_interval");
        options.ServiceCheckTlsServerName = consul.ServiceCheckTlsServerName;
        return options;
    }

    // Consul durations as Patroni passes them on: "5s", "1m", "500ms", or plain seconds.
    private static TimeSpan ParseConsulDuration(string text, string key)
    {
        var t = text.Trim();
        var (number, unit) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 0.001)
            : t.EndsWith('s') ? (t[..^1], 1.0) : t.EndsWith('m') ? (t[..^1], 60.0) : t.EndsWith('h') ? (t[..^1], 3600.0) : (t, 1.0);
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new FormatException($"{key}: '{text}' is not a duration such as 5s, 500ms or 1m");
        return TimeSpan.FromSeconds(value * unit);
    }

    /// <summary>
    /// The node's own PostgreSQL parameters, applied over the cluster-wide ones whenever the <c>config</c> key changes:
    /// local <c>postgresql.parameters</c> without those only the cluster-wide configuration may set, and without
    /// <c>unix_socket_directories</c>, which the controller owns.
    /// </summary>
    public static IReadOnlyDictionary<string, string> LocalParameters(PgHaConfig config)
    {
        var local = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in config.Postgresql.Parameters)
            if (!ClusterWideParameters.Contains(name) && name != "unix_socket_directories") local[name] = value.ToPostgresValue();
        return local;
    }

    /// <summary>
    /// The ZooKeeper adapter's options: the session timeout is the ttl, the request deadline retry_timeout, a server
    /// connect gets <c>max(1, loop_wait/2)</c> seconds as in Patroni. TLS and <c>set_acls</c> are not supported by this
    /// version and are reported by <see cref="ZooKeeperProblems"/>.
    /// </summary>
    public static ZooKeeperDcsOptions ZooKeeper(PgHaConfig config, ZooKeeperConfig zookeeper)
    {
        var dcs = config.Bootstrap.Dcs;
        var options = new ZooKeeperDcsOptions
        {
            Namespace = config.Namespace,
            Scope = config.Scope,
            Name = config.Name,
            Ttl = TimeSpan.FromSeconds(dcs.Ttl),
            RequestTimeout = TimeSpan.FromSeconds(dcs.RetryTimeout),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(1, dcs.LoopWait / 2.0)),
        };
        foreach (var host in zookeeper.Hosts) options.Hosts.Add(host.ToString());
        foreach (var (scheme, credential) in zookeeper.AuthData) options.AuthData.Add(KeyValuePair.Create(scheme, credential.Reveal()));
        return options;
    }

    /// <summary>Settings of the <c>zookeeper</c> section this version cannot honour, each naming the setting.</summary>
    public static IReadOnlyList<string> ZooKeeperProblems(ZooKeeperConfig zookeeper)
    {
        var problems = new List<string>();
        if (zookeeper.UseSsl || zookeeper.CaCert is not null || zookeeper.Cert is not null || zookeeper.Key is not null)
            problems.Add("use_ssl/cacert/cert/key: TLS connections to ZooKeeper are not supported yet; use a plain client port");
        if (zookeeper.SetAcls.Count > 0)
            problems.Add("set_acls: znode ACLs are not supported yet; remove set_acls (znodes are created world-readable, as without it)");
        return problems;
    }

    /// <summary>The <c>watchdog</c> section as the HA loop's watchdog uses it.</summary>
    public static WatchdogOptions Watchdog(PgHaConfig config) => new()
    {
        Mode = config.Watchdog.Mode switch
        {
            Configuration.WatchdogMode.Off => PgHa.Watchdog.WatchdogMode.Off,
            Configuration.WatchdogMode.Required => PgHa.Watchdog.WatchdogMode.Required,
            _ => PgHa.Watchdog.WatchdogMode.Automatic,
        },
        Device = config.Watchdog.Device,
        SafetyMargin = config.Watchdog.SafetyMargin,
    };

    /// <summary>
    /// The user's commands around PostgreSQL events: <c>postgresql.callbacks</c>, <c>pre_promote</c> and
    /// <c>before_stop</c> of the local configuration, passed the cluster name (<c>scope</c>). Check them with
    /// <see cref="CallbackOptions.Validate"/>.
    /// </summary>
    public static CallbackOptions Callbacks(PgHaConfig config)
    {
        var pg = config.Postgresql;
        return new CallbackOptions
        {
            Scope = config.Scope,
            OnStart = pg.Callbacks.OnStart,
            OnStop = pg.Callbacks.OnStop,
            OnRestart = pg.Callbacks.OnRestart,
            OnReload = pg.Callbacks.OnReload,
            OnRoleChange = pg.Callbacks.OnRoleChange,
            PrePromote = pg.PrePromote,
            BeforeStop = pg.BeforeStop,
        };
    }

    /// <summary>
    /// The PostgreSQL controller's options. Parameters are the dynamic ones from <c>bootstrap.dcs.postgresql</c>
    /// overlaid by the local <c>postgresql.parameters</c>, as Patroni merges them.
    /// </summary>
    public static PostgresControllerOptions Postgres(PgHaConfig config)
    {
        var pg = config.Postgresql;
        var auth = pg.Authentication;
        var options = new PostgresControllerOptions
        {
            DataDirectory = pg.DataDir,
            BinDirectory = pg.BinDir ?? "",
            Listen = pg.Listen.ToString(),
            ConnectAddress = pg.ConnectAddress.ToString(),
            Scope = config.Scope,
            MemberName = config.Name,
            Superuser = Credentials(auth.Superuser, "postgres"),
            Replication = Credentials(auth.Replication, "replicator"),
            Rewind = auth.Rewind is { Username: { } rewindUser } rewind ? Credentials(rewind, rewindUser) : null,
            UsePgRewind = pg.UsePgRewind ?? config.Bootstrap.Dcs.Postgresql.UsePgRewind,
            RemoveDataDirectoryOnRewindFailure = pg.RemoveDataDirectoryOnRewindFailure,
            PgCtlTimeout = TimeSpan.FromSeconds(pg.PgCtlTimeout),
            PostBootstrap = config.Bootstrap.PostBootstrap ?? "",
            PgPassFile = pg.Pgpass ?? "",
        };
        foreach (var o in config.Bootstrap.Initdb) options.InitdbOptions.Add(o.ToArgument());
        foreach (var o in pg.Basebackup) options.BasebackupOptions.Add(o.ToArgument());
        AddMethods(config, options);
        // pg_hba: local lines win over the dynamic ones, which win over the bootstrap ones (Patroni's precedence).
        var hba = !pg.PgHba.IsDefaultOrEmpty ? pg.PgHba
            : !config.Bootstrap.Dcs.Postgresql.PgHba.IsDefaultOrEmpty ? config.Bootstrap.Dcs.Postgresql.PgHba
            : config.Bootstrap.PgHba;
        foreach (var line in hba) options.PgHba.Add(line);
        foreach (var (name, value) in config.Bootstrap.Dcs.Postgresql.Parameters) options.Parameters[name] = value.ToPostgresValue();
        foreach (var (name, value) in pg.Parameters)
        {
            // Settings that must be identical on every member are cluster-wide only, as in Patroni: a local value is
            // ignored (the configuration loader warns about it).
            if (!ClusterWideParameters.Contains(name)) options.Parameters[name] = value.ToPostgresValue();
        }
        // The agent connects through the socket directory, so the controller owns that setting; a configured one is
        // honoured by handing it over instead of passing it through as a plain parameter.
        if (options.Parameters.Remove("unix_socket_directories", out var sockets))
            options.UnixSocketDirectory = sockets.Split(',')[0].Trim();
        return options;
    }

    // One authentication.* entry with its libpq options; Patroni passes them wherever that user connects.
    private static PostgresCredentials Credentials(PgUser user, string defaultName) =>
        new(user.Username ?? defaultName, user.Password?.Reveal())
        {
            Connection = new PostgresConnectionParameters
            {
                SslMode = user.SslMode,
                SslKey = user.SslKey,
                SslPassword = user.SslPassword?.Reveal(),
                SslCert = user.SslCert,
                SslRootCert = user.SslRootCert,
                SslCrl = user.SslCrl,
                SslCrlDir = user.SslCrlDir,
                GssEncMode = user.GssEncMode,
                ChannelBinding = user.ChannelBinding,
            },
        };

    // create_replica_methods with their sections, a custom bootstrap.method, and recovery_conf (restore_command, …).
    private static void AddMethods(PgHaConfig config, PostgresControllerOptions options)
    {
        var pg = config.Postgresql;
        // Python's str() of a YAML value, which is how Patroni renders --key=value.
        static string Arg(ScalarValue v) => v.Kind == ScalarValueKind.Boolean ? (v.Text == "true" ? "True" : "False") : v.Text;
        foreach (var name in pg.CreateReplicaMethods.Distinct(StringComparer.Ordinal))
        {
            if (name == ReplicaCreationMethod.BasebackupName) options.CreateReplicaMethods.Add(ReplicaCreationMethod.Basebackup);
            else if (pg.ReplicaMethods.TryGetValue(name, out var m)) options.CreateReplicaMethods.Add(ToMethod(name, m));
        }
        foreach (var (name, m) in pg.ReplicaMethods)
        {
            if (!pg.CreateReplicaMethods.Contains(name))
                options.OtherReplicaMethods.Add(ToMethod(name, m));
        }
        if (config.Bootstrap.Method != "initdb" && config.Bootstrap.Methods.TryGetValue(config.Bootstrap.Method, out var b))
            options.BootstrapMethod = new CustomBootstrapMethod(config.Bootstrap.Method, b.Command)
            {
                NoParams = b.NoParams,
                KeepExistingRecoveryConf = b.KeepExistingRecoveryConf,
                RecoveryConf = [.. b.RecoveryConf.Select(o => KeyValuePair.Create(o.Key, o.Value.ToPostgresValue()))],
                Parameters = [.. b.Options.Select(o => KeyValuePair.Create(o.Key, Arg(o.Value)))],
            };
        foreach (var (name, value) in pg.RecoveryConf) options.RecoveryConf[name] = value.ToPostgresValue();

        static ReplicaCreationMethod ToMethod(string name, ReplicaMethodConfig m) => new(name)
        {
            Command = m.Command,
            NoLeader = m.NoLeader,
            KeepData = m.KeepData,
            NoParams = m.NoParams,
            Parameters = [.. m.Options.Select(o => KeyValuePair.Create(o.Key, Arg(o.Value)))],
        };
    }
}
