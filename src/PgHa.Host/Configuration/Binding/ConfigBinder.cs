using System.Collections.Immutable;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Decisions;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Configuration.Binding;

/// <summary>
/// Turns the merged configuration tree into <see cref="PgHaConfig"/>, reporting every problem (unknown keys with a
/// suggestion, wrong types, missing required settings, unsupported Patroni features, the timing rule) at once.
/// </summary>
internal static class ConfigBinder
{
    internal static readonly string[] SupportedDcs = ["etcd3", "etcd", "zookeeper", "consul"];
    internal static readonly string[] UnsupportedDcs = ["kubernetes", "raft", "exhibitor"];

    /// <summary>PostgreSQL parameters Patroni only takes from the dynamic configuration (local values are ignored).</summary>
    private static readonly string[] DynamicOnlyParameters =
    [
        "max_connections", "max_locks_per_transaction", "max_worker_processes", "max_prepared_transactions", "wal_level",
        "track_commit_timestamp", "max_wal_senders", "max_replication_slots", "wal_keep_segments", "wal_keep_size", "wal_log_hints",
    ];

    /// <summary>PostgreSQL parameters Patroni always sets itself.</summary>
    private static readonly string[] ManagedParameters = ["listen_addresses", "port", "cluster_name", "hot_standby"];

    private static readonly string[] BinNames = ["pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "postgres", "pg_isready", "pg_rewind"];

    private static readonly string[] UserKeys =
        ["username", "password", "sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "gssencmode", "channel_binding"];

    public static PgHaConfig? Bind(ConfigMap root, Problems problems)
    {
        var s = new Section(problems, "", root, root.Source);
        var scope = NonEmpty(s, "scope");
        var ns = s.String("namespace");
        if (ns is not null && ns.Trim('/').Length == 0)
        {
            s.Error("namespace", "must not be empty", s.Take("namespace")?.Value.Source);
            ns = null;
        }
        var name = NonEmpty(s, "name");
        var restApi = BindRestApi(s.Child("restapi"));
        var ctl = BindCtl(s.Child("ctl"));
        var dcs = BindDcs(s);
        var postgresql = BindPostgresql(s.Child("postgresql"));
        var pgha = BindPgHa(s.Child("pgha"));
        var bootstrap = BindBootstrap(s.Child("bootstrap"), pgha);
        var watchdog = BindWatchdog(s.Child("watchdog"));
        CheckWatchdogTiming(s, watchdog, bootstrap.Dcs);
        var tags = BindTags(s.Child("tags"));
        var log = BindLog(s.Child("log"));
        s.Unsupported("only etcd3, etcd, zookeeper and consul are implemented", UnsupportedDcs);
        s.Unsupported("", "citus");
        s.Finish();

        if (problems.Errors.Count > 0 || scope is null || name is null || restApi is null || dcs is null || postgresql is null)
            return null;
        return new PgHaConfig
        {
            Scope = scope,
            Namespace = ns ?? "/service/",
            Name = name,
            RestApi = restApi,
            Ctl = ctl,
            Dcs = dcs,
            Bootstrap = bootstrap,
            Postgresql = postgresql,
            Watchdog = watchdog,
            Tags = tags,
            Log = log,
            PgHa = pgha,
        };
    }

    private static string? NonEmpty(Section s, string key)
    {
        var v = s.String(key, required: true);
        if (v is not null && v.Trim().Length == 0)
        {
            s.Error(key, "must not be empty", s.Take(key)?.Value.Source);
            return null;
        }
        return v;
    }

    // ---- restapi / ctl ---------------------------------------------------------------------------------------------

    private static RestApiConfig? BindRestApi(Section s)
    {
        if (!s.Exists)
        {
            s.Problems.Error(s.PathPrefix, "required section is missing (needs at least listen and connect_address)", s.Source);
            return null;
        }
        var listen = s.HostPort("listen", required: true, anyHost: true);
        var connect = s.HostPort("connect_address", required: true);
        var auth = BindBasicAuth(s.Child("authentication"));
        var certFile = s.String("certfile");
        var keyFile = s.String("keyfile");
        var keyFilePassword = s.Secret("keyfile_password");
        var caFile = s.String("cafile");
        var verify = s.Choice("verify_client", "none", "optional", "required");
        var allowlist = s.StringList("allowlist");
        var includeMembers = s.Bool("allowlist_include_members", false);
        var http = s.StringMap("http_extra_headers");
        var https = s.StringMap("https_extra_headers");
        var queue = s.Int("request_queue_size", 0, 65535);
        s.Unsupported("", "ciphers", "server_tokens", "thread_pool_size");
        if (keyFile is not null && certFile is null) s.Error("keyfile", "needs certfile", s.Take("keyfile")?.Value.Source);
        if (verify is "optional" or "required" && caFile is null)
            s.Error("verify_client", $"'{verify}' needs cafile to verify client certificates", s.Take("verify_client")?.Value.Source);
        s.Finish();
        if (listen is null || connect is null) return null;
        return new RestApiConfig
        {
            Listen = listen,
            ConnectAddress = connect,
            Authentication = auth,
            CertFile = certFile,
            KeyFile = keyFile,
            KeyFilePassword = keyFilePassword,
            CaFile = caFile,
            VerifyClient = verify switch { "optional" => ClientCertificateMode.Optional, "required" => ClientCertificateMode.Required, _ => ClientCertificateMode.None },
            Allowlist = allowlist,
            AllowlistIncludeMembers = includeMembers,
            HttpExtraHeaders = http,
            HttpsExtraHeaders = https,
            RequestQueueSize = (int)(queue ?? 5),
        };
    }

    private static BasicAuthentication? BindBasicAuth(Section s)
    {
        if (!s.Exists) return null;
        var user = s.String("username", required: true);
        var password = s.Secret("password", required: true);
        s.Finish();
        return user is null || password is null ? null : new BasicAuthentication(user, password);
    }

    private static CtlConfig BindCtl(Section s)
    {
        var result = new CtlConfig
        {
            Authentication = BindBasicAuth(s.Child("authentication")),
            Insecure = s.Bool("insecure", false),
            CaCert = s.String("cacert"),
            CertFile = s.String("certfile"),
            KeyFile = s.String("keyfile"),
            KeyFilePassword = s.Secret("keyfile_password"),
        };
        s.Finish();
        return result;
    }

    // ---- DCS -------------------------------------------------------------------------------------------------------

    private static DcsConfig? BindDcs(Section root)
    {
        var present = root.Entries.Where(e => SupportedDcs.Contains(e.Key)).ToList();
        foreach (var k in SupportedDcs) root.Allow(k);
        if (present.Count == 0)
        {
            if (!root.Entries.Any(e => UnsupportedDcs.Contains(e.Key)))
                root.Problems.Error("", "no DCS section: exactly one of etcd3, etcd, zookeeper or consul is required", root.Source);
            return null;
        }
        if (present.Count > 1)
        {
            var names = string.Join(", ", present.Select(p => $"{p.Key} ({p.KeySource})"));
            root.Problems.Error(present[1].Key, $"more than one DCS section: {names}; keep exactly one", present[1].KeySource);
            return null;
        }
        var entry = present[0];
        var s = Section.Of(root.Problems, entry.Key, entry.Value, entry.KeySource);
        return entry.Key switch
        {
            "etcd3" => BindEtcd(s, v3: true),
            "etcd" => BindEtcd(s, v3: false),
            "zookeeper" => BindZooKeeper(s),
            _ => BindConsul(s),
        };
    }

    private static EtcdConfig? BindEtcd(Section s, bool v3)
    {
        var protocol = s.Choice("protocol", "http", "https") ?? "http";
        var port = (int?)s.Int("port", 1, 65535);
        var host = s.HostPort("host", defaultPort: port ?? 2379);
        if (host is not null && port is not null) host = host with { Port = port.Value };
        var hosts = HostList(s, "hosts", port ?? 2379);
        var url = Url(s, "url");
        var result = new EtcdConfig
        {
            V3 = v3,
            Host = host,
            Hosts = hosts,
            Url = url,
            Protocol = protocol,
            Username = s.String("username"),
            Password = s.Secret("password"),
            CaCert = s.String("cacert"),
            Cert = s.String("cert"),
            Key = s.String("key"),
        };
        s.Unsupported("DNS discovery and proxies are not implemented; list the endpoints in hosts", "srv", "srv_suffix", "proxy", "use_proxies", "discovery_srv", "srv_domain");
        if (!s.Has("host") && !s.Has("hosts") && !s.Has("url") && !s.Has("srv") && !s.Has("proxy"))
            s.Problems.Error(s.PathPrefix, "one of host, hosts or url is required", s.Source);
        if (result.Key is not null && result.Cert is null) s.Error("key", "needs cert", s.Take("key")?.Value.Source);
        s.Finish();
        return result;
    }

    private static ImmutableArray<HostPort> HostList(Section s, string key, int defaultPort)
    {
        var e = s.Take(key);
        if (e is null) return [];
        var items = s.AsStringList(e.Value, s.PathOf(key), commaString: true);
        var result = ImmutableArray.CreateBuilder<HostPort>();
        for (var i = 0; i < items.Length; i++)
        {
            var hp = HostPort.TryParse(items[i], defaultPort: defaultPort);
            if (hp is null)
                s.Problems.Error(e.Value is ConfigList ? $"{s.PathOf(key)}[{i}]" : s.PathOf(key), $"'{items[i]}' is not host:port", e.Value is ConfigList l && i < l.Items.Count ? l.Items[i].Source : e.Value.Source);
            else result.Add(hp);
        }
        if (items.IsEmpty && e.Value is ConfigList or ConfigScalar { Kind: ScalarKind.String })
            s.Error(key, "must list at least one host:port", e.Value.Source);
        return result.ToImmutable();
    }

    private static string? Url(Section s, string key)
    {
        var e = s.Take(key);
        if (e is null) return null;
        var text = s.AsString(e.Value, s.PathOf(key));
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            s.Error(key, $"'{RedactUserInfo(text)}' is not an http:// or https:// URL", e.Value.Source);
            return null;
        }
        return text;
    }

    /// <summary>URLs may carry credentials (<c>http://user:pass@host</c>); never echo them.</summary>
    private static string RedactUserInfo(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme >= 0 && at > scheme ? url[..(scheme + 3)] + "***@" + url[(at + 1)..] : url;
    }

    private static ZooKeeperConfig? BindZooKeeper(Section s)
    {
        var hosts = HostList(s, "hosts", 2181);
        if (!s.Has("hosts")) s.Missing("hosts");
        var acls = s.Child("set_acls");
        var aclEntries = new List<KeyValuePair<string, ImmutableArray<string>>>();
        string[] perms = ["READ", "WRITE", "CREATE", "DELETE", "ADMIN", "ALL"];
        foreach (var e in acls.Entries)
        {
            var list = acls.AsStringList(e.Value, acls.PathOf(e.Key), commaString: false);
            foreach (var p in list.Where(p => !perms.Contains(p.ToUpperInvariant())))
                s.Problems.Error(acls.PathOf(e.Key), $"unknown permission '{p}' (expected {string.Join(", ", perms)})", e.Value.Source);
            aclEntries.Add(new(e.Key, list));
        }
        var auth = s.Child("auth_data");
        var authEntries = new List<KeyValuePair<string, Secret>>();
        foreach (var e in auth.Entries)
            if (auth.AsString(e.Value, auth.PathOf(e.Key), secret: true) is { } v) authEntries.Add(new(e.Key, new Secret(v)));
        var result = new ZooKeeperConfig
        {
            Hosts = hosts,
            UseSsl = s.Bool("use_ssl", false),
            Verify = s.Bool("verify", true),
            CaCert = s.String("cacert"),
            Cert = s.String("cert"),
            Key = s.String("key"),
            KeyPassword = s.Secret("key_password"),
            SetAcls = new OrderedMap<ImmutableArray<string>>(aclEntries),
            AuthData = new OrderedMap<Secret>(authEntries),
        };
        s.Finish();
        return result;
    }

    private static ConsulConfig? BindConsul(Section s)
    {
        var port = (int?)s.Int("port", 1, 65535);
        var host = s.HostPort("host", defaultPort: 8500);
        var result = new ConsulConfig
        {
            Host = host ?? new HostPort("127.0.0.1", 8500),
            Url = Url(s, "url"),
            Port = port,
            Scheme = s.Choice("scheme", "http", "https") ?? "http",
            Token = s.Secret("token"),
            Verify = s.Bool("verify", true),
            CaCert = s.String("cacert"),
            Cert = s.String("cert"),
            Key = s.String("key"),
            Dc = s.String("dc"),
            Consistency = s.Choice("consistency", "default", "consistent", "stale") ?? "default",
            Checks = s.StringList("checks", commaString: true),
            RegisterService = s.Bool("register_service", false),
            ServiceTags = s.StringList("service_tags", commaString: true),
            ServiceCheckInterval = s.String("service_check_interval") ?? "5s",
            ServiceCheckTlsServerName = s.String("service_check_tls_server_name"),
        };
        s.Finish();
        return result;
    }

    // ---- postgresql ------------------------------------------------------------------------------------------------

    private static PostgresqlConfig? BindPostgresql(Section s)
    {
        if (!s.Exists)
        {
            s.Problems.Error(s.PathPrefix, "required section is missing (needs at least listen, connect_address and data_dir)", s.Source);
            return null;
        }
        var listen = s.HostPort("listen", required: true, multipleHosts: true);
        var connect = s.HostPort("connect_address", required: true);
        var proxy = s.HostPort("proxy_address");
        var dataDir = NonEmpty(s, "data_dir");
        var binName = s.StringMap("bin_name");
        foreach (var k in binName.Keys.Where(k => !BinNames.Contains(k)))
        {
            var suggestion = Section.Suggest(k, BinNames);
            s.Problems.Error($"{s.PathOf("bin_name")}.{k}", "unknown binary" + (suggestion is null ? $" (expected one of {string.Join(", ", BinNames)})" : $" (did you mean '{suggestion}'?)"), s.Child("bin_name").Map?.Find(k)?.KeySource);
        }
        var auth = s.Child("authentication");
        var authentication = new PgAuthentication
        {
            Superuser = BindUser(auth.Child("superuser")) ?? new PgUser(),
            Replication = BindUser(auth.Child("replication")) ?? new PgUser(),
            Rewind = BindUser(auth.Child("rewind")),
        };
        auth.Finish();
        var parameters = s.ScalarMap("parameters");
        var parametersSection = s.Child("parameters");
        foreach (var p in parameters.Keys)
        {
            var keySource = parametersSection.Map?.Find(p)?.KeySource;
            if (DynamicOnlyParameters.Contains(p))
                s.Problems.Warn($"{s.PathOf("parameters")}.{p}", "ignored here, as in Patroni: set it in bootstrap.dcs.postgresql.parameters (the cluster-wide configuration)", keySource);
            else if (ManagedParameters.Contains(p))
                s.Problems.Warn($"{s.PathOf("parameters")}.{p}", "ignored: PgHa sets it from postgresql.listen and scope, as Patroni does", keySource);
        }

        var callbacks = s.Child("callbacks");
        var pgCallbacks = new PgCallbacks
        {
            OnStart = callbacks.String("on_start"),
            OnStop = callbacks.String("on_stop"),
            OnRestart = callbacks.String("on_restart"),
            OnReload = callbacks.String("on_reload"),
            OnRoleChange = callbacks.String("on_role_change"),
        };
        callbacks.Finish();

        var methods = s.Has("create_replica_methods") ? s.StringList("create_replica_methods", commaString: true) : ["basebackup"];
        var replicaMethods = new List<KeyValuePair<string, ReplicaMethodConfig>>();
        foreach (var m in methods.Distinct().Where(m => m != "basebackup"))
        {
            if (!s.Has(m))
            {
                s.Problems.Error(s.PathOf(m), $"replica method '{m}' is listed in create_replica_methods but has no section with a command", s.Take("create_replica_methods")?.Value.Source);
                continue;
            }
            if (BindReplicaMethod(s.Child(m)) is { } rm) replicaMethods.Add(new(m, rm));
        }

        var result = new PostgresqlConfig
        {
            Listen = listen!,
            ConnectAddress = connect!,
            ProxyAddress = proxy,
            DataDir = dataDir!,
            ConfigDir = s.String("config_dir"),
            BinDir = s.String("bin_dir"),
            BinName = binName,
            Pgpass = s.String("pgpass"),
            Database = s.String("database") ?? "postgres",
            Authentication = authentication,
            Parameters = parameters,
            PgHba = s.StringList("pg_hba"),
            PgIdent = s.StringList("pg_ident"),
            Callbacks = pgCallbacks,
            CreateReplicaMethods = methods,
            ReplicaMethods = new OrderedMap<ReplicaMethodConfig>(replicaMethods),
            Basebackup = ToolOptions(s, "basebackup", ["pgdata", "format", "wal-method", "xlog-method", "gzip", "version", "compress", "dbname", "host", "port", "username", "password"]),
            UsePgRewind = s.Bool("use_pg_rewind"),
            Rewind = ToolOptions(s, "rewind", ["target-pgdata", "source-server", "source-pgdata", "version"]),
            RemoveDataDirectoryOnRewindFailure = s.Bool("remove_data_directory_on_rewind_failure", false),
            RemoveDataDirectoryOnDivergedTimelines = s.Bool("remove_data_directory_on_diverged_timelines", false),
            PrePromote = s.String("pre_promote"),
            BeforeStop = s.String("before_stop"),
            PgCtlTimeout = (int)(s.Int("pg_ctl_timeout", 1, int.MaxValue) ?? 60),
            UseUnixSocket = s.Bool("use_unix_socket", false),
            UseUnixSocketRepl = s.Bool("use_unix_socket_repl", false),
            RecoveryConf = s.ScalarMap("recovery_conf"),
            CustomConf = s.String("custom_conf"),
        };
        if (s.Has("use_slots"))
            s.Warn("use_slots", "ignored here, as in Patroni: replication slots are switched on or off cluster-wide in bootstrap.dcs.postgresql.use_slots", s.Take("use_slots")!.KeySource);
        // A method section create_replica_methods does not list is still a method: standby_cluster.create_replica_methods
        // (dynamic, may change at run time) names its methods from the local postgresql section, as in Patroni.
        foreach (var e in s.Entries.Where(e => !s.IsKnown(e.Key) && e.Value is ConfigMap map && map.Find("command") is not null).ToList())
        {
            if (BindReplicaMethod(s.Child(e.Key)) is { } rm) replicaMethods.Add(new(e.Key, rm));
        }
        if (replicaMethods.Count > result.ReplicaMethods.Count) result = result with { ReplicaMethods = new OrderedMap<ReplicaMethodConfig>(replicaMethods) };
        s.Finish();
        return listen is null || connect is null || dataDir is null ? null : result;
    }

    private static PgUser? BindUser(Section s)
    {
        if (!s.Exists) return null;
        var user = new PgUser
        {
            Username = s.String("username"),
            Password = s.Secret("password"),
            SslMode = s.Choice("sslmode", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
            SslKey = s.String("sslkey"),
            SslPassword = s.Secret("sslpassword"),
            SslCert = s.String("sslcert"),
            SslRootCert = s.String("sslrootcert"),
            SslCrl = s.String("sslcrl"),
            SslCrlDir = s.String("sslcrldir"),
            GssEncMode = s.Choice("gssencmode", "disable", "prefer", "require"),
            ChannelBinding = s.Choice("channel_binding", "disable", "prefer", "require"),
        };
        s.Finish();
        return user;
    }

    private static ReplicaMethodConfig? BindReplicaMethod(Section s)
    {
        var command = s.String("command", required: true);
        var noLeader = s.Bool("no_leader") ?? s.Bool("no_master") ?? false;
        var keepData = s.Bool("keep_data", false);
        var noParams = s.Bool("no_params", false);
        var options = OtherOptions(s);
        s.Finish();
        return command is null ? null : new ReplicaMethodConfig { Command = command, NoLeader = noLeader, KeepData = keepData, NoParams = noParams, Options = options };
    }

    private static readonly string[] MethodKeys = ["command", "no_leader", "no_master", "keep_data", "no_params", "keep_existing_recovery_conf", "recovery_conf"];

    /// <summary>Every other key of a custom method section, as <c>--key=value</c> options of its command.</summary>
    private static OrderedMap<ScalarValue> OtherOptions(Section s)
    {
        var entries = new List<KeyValuePair<string, ScalarValue>>();
        foreach (var e in s.Entries)
        {
            if (MethodKeys.Contains(e.Key)) continue;
            s.Allow(e.Key);
            if (e.Value is ConfigScalar { Kind: ScalarKind.Null }) continue;
            if (Section.ToScalarValue(e.Value) is { } v) entries.Add(new(e.Key, v));
            else s.Problems.Error(s.PathOf(e.Key), $"expected a single value for the command's --{e.Key} option, found {e.Value.Describe()}", e.Value.Source);
        }
        return new OrderedMap<ScalarValue>(entries);
    }

    /// <summary>Options of a tool: a list of flags and single-key mappings, or a mapping (Patroni's <c>process_user_options</c>).</summary>
    private static ImmutableArray<ToolOption> ToolOptions(Section s, string key, string[] notAllowed)
    {
        var e = s.Take(key);
        if (e is null) return [];
        var path = s.PathOf(key);
        var result = ImmutableArray.CreateBuilder<ToolOption>();
        void Add(string name, string? value, string itemPath, ConfigSource source)
        {
            var bare = name.TrimStart('-');
            if (bare.Length == 0) s.Problems.Error(itemPath, "empty option name", source);
            else if (notAllowed.Contains(bare)) s.Problems.Error(itemPath, $"option '{bare}' is not allowed: PgHa sets it itself", source);
            else result.Add(new ToolOption(bare, value));
        }
        switch (e.Value)
        {
            case ConfigMap map:
                foreach (var kv in map.Entries)
                {
                    if (kv.Value is ConfigScalar { Kind: ScalarKind.Null }) continue;
                    if (kv.Value is ConfigScalar v) Add(kv.Key, Section.ToScalarValue(v)!.Kind == ScalarValueKind.Boolean ? v.PythonStr() : v.Text, $"{path}.{kv.Key}", kv.KeySource);
                    else s.Problems.Error($"{path}.{kv.Key}", $"expected a single value, found {kv.Value.Describe()}", kv.Value.Source);
                }
                break;
            case ConfigList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var item = list.Items[i];
                    var itemPath = $"{path}[{i}]";
                    switch (item)
                    {
                        case ConfigScalar { Kind: ScalarKind.String } str:
                            Add((string)str.Value!, null, itemPath, item.Source);
                            break;
                        case ConfigMap { Entries.Count: 1 } one when one.Entries[0].Value is ConfigScalar { Kind: not ScalarKind.Null } v:
                            Add(one.Entries[0].Key, v.Kind == ScalarKind.String ? (string)v.Value! : v.Text, itemPath, item.Source);
                            break;
                        case ConfigMap many:
                            s.Problems.Error(itemPath, $"expected an option name (- data-checksums) or a single key: value (- encoding: UTF8), found a mapping with {many.Entries.Count} keys{(many.Entries.Count == 1 ? " whose value is not a single value" : "")}", item.Source);
                            break;
                        default:
                            s.Problems.Error(itemPath, $"expected an option name (- data-checksums) or a single key: value (- encoding: UTF8), found {Section.Found(item, false)}", item.Source);
                            break;
                    }
                }
                break;
            default:
                s.Problems.Error(path, $"expected a list of options or a mapping, found {Section.Found(e.Value, false)}", e.Value.Source);
                break;
        }
        return result.ToImmutable();
    }

    // ---- bootstrap -------------------------------------------------------------------------------------------------

    private static BootstrapConfig BindBootstrap(Section s, PgHaSettings pgha)
    {
        var dcsEntry = s.Take("dcs");
        var dcs = BindDynamic(Section.Of(s.Problems, s.PathOf("dcs"), dcsEntry?.Value, dcsEntry?.KeySource ?? s.Source), dcsEntry?.Value as ConfigMap, pgha);
        var method = s.String("method") ?? "initdb";
        var methods = new List<KeyValuePair<string, BootstrapMethodConfig>>();
        if (method != "initdb")
        {
            if (!s.Has(method))
                s.Error("method", $"bootstrap method '{method}' has no section bootstrap.{method} with a command", s.Take("method")?.Value.Source);
            else
            {
                var ms = s.Child(method);
                var command = ms.String("command", required: true);
                var keep = ms.Bool("keep_existing_recovery_conf", false);
                var noParams = ms.Bool("no_params", false);
                var recovery = ms.ScalarMap("recovery_conf");
                var options = OtherOptions(ms);
                ms.Finish();
                if (command is not null)
                    methods.Add(new(method, new BootstrapMethodConfig { Command = command, KeepExistingRecoveryConf = keep, NoParams = noParams, RecoveryConf = recovery, Options = options }));
            }
        }
        var initdb = ToolOptions(s, "initdb", ["pgdata", "nosync", "pwfile", "sync-only", "version"]);
        var postBootstrap = s.String("post_bootstrap");
        var postInit = s.String("post_init");
        var users = new List<KeyValuePair<string, BootstrapUser>>();
        var usersEntry = s.Take("users");
        if (usersEntry is not null)
        {
            s.Warn("users", "creating users at bootstrap was removed in Patroni 4; create them in post_bootstrap instead", usersEntry.KeySource);
            var us = s.Child("users");
            foreach (var e in us.Entries)
            {
                var u = Section.Of(s.Problems, us.PathOf(e.Key), e.Value, e.KeySource);
                var password = u.Secret("password");
                var opts = u.StringList("options", commaString: true);
                u.Finish();
                us.Allow(e.Key);
                users.Add(new(e.Key, new BootstrapUser(password, opts)));
            }
        }
        var pgHba = s.StringList("pg_hba");
        s.Finish();
        return new BootstrapConfig
        {
            Dcs = dcs,
            Method = method,
            Methods = new OrderedMap<BootstrapMethodConfig>(methods),
            Initdb = initdb,
            PgHba = pgHba,
            PostBootstrap = postBootstrap ?? postInit,
            Users = new OrderedMap<BootstrapUser>(users),
        };
    }

    private static DynamicConfig BindDynamic(Section s, ConfigMap? raw, PgHaSettings pgha)
    {
        var errorsBefore = s.Problems.Errors.Count;
        var ttl = s.Int("ttl", 1, int.MaxValue);
        var loopWait = s.Int("loop_wait", 1, int.MaxValue);
        var retry = s.Int("retry_timeout", 1, int.MaxValue);
        var timingValid = s.Problems.Errors.Count == errorsBefore;
        WarnBelow(s, "ttl", ttl, 20);
        WarnBelow(s, "retry_timeout", retry, 3);

        var startKey = s.Has("primary_start_timeout") || !s.Has("master_start_timeout") ? "primary_start_timeout" : "master_start_timeout";
        var stopKey = s.Has("primary_stop_timeout") || !s.Has("master_stop_timeout") ? "primary_stop_timeout" : "master_stop_timeout";
        s.Allow("primary_start_timeout", "master_start_timeout", "primary_stop_timeout", "master_stop_timeout");

        bool? syncMode = null;
        if (s.Take("synchronous_mode") is { } sm)
        {
            if (sm.Value is ConfigScalar { Kind: ScalarKind.String } q && string.Equals(q.Text, "quorum", StringComparison.OrdinalIgnoreCase))
                s.Error("synchronous_mode", "'quorum' is not supported by PgHa (use on or off)", sm.Value.Source);
            else syncMode = s.AsBool(sm.Value, s.PathOf("synchronous_mode"));
        }

        var pg = s.Child("postgresql");
        var dynPg = new DynamicPostgresqlConfig
        {
            UsePgRewind = pg.Bool("use_pg_rewind", false),
            UseSlots = pg.Bool("use_slots", true),
            Parameters = pg.ScalarMap("parameters"),
            PgHba = pg.StringList("pg_hba"),
            PgIdent = pg.StringList("pg_ident"),
            RecoveryConf = pg.ScalarMap("recovery_conf"),
        };
        // Patroni copies any other local postgresql setting from the dynamic configuration, except these.
        foreach (var local in new[] { "connect_address", "proxy_address", "listen", "config_dir", "data_dir", "pgpass", "authentication" })
            if (pg.Take(local) is { } e)
                pg.Warn(local, "ignored in the dynamic configuration, as in Patroni: set it in the local postgresql section", e.KeySource);
        pg.Allow("bin_dir", "bin_name", "callbacks", "create_replica_methods", "basebackup", "rewind", "remove_data_directory_on_rewind_failure",
            "remove_data_directory_on_diverged_timelines", "pre_promote", "before_stop", "pg_ctl_timeout", "use_unix_socket", "use_unix_socket_repl",
            "custom_conf", "database");
        pg.Unsupported("role-specific overrides are not implemented", "parameters_primary", "parameters_replica", "parameters_standby_leader",
            "pg_hba_primary", "pg_hba_replica", "pg_hba_standby_leader", "pg_ident_primary", "pg_ident_replica", "pg_ident_standby_leader");
        pg.Finish();

        var result = new DynamicConfig
        {
            Ttl = (int)(ttl ?? 30),
            LoopWait = (int)(loopWait ?? 10),
            RetryTimeout = (int)(retry ?? 10),
            MaximumLagOnFailover = s.Int("maximum_lag_on_failover", 0) ?? 1048576,
            MaximumLagOnSyncnode = s.Int("maximum_lag_on_syncnode") ?? -1,
            PrimaryStartTimeout = (int)(s.Int(startKey, 0, int.MaxValue) ?? 300),
            PrimaryStopTimeout = (int)(s.Int(stopKey, 0, int.MaxValue) ?? 0),
            SynchronousMode = syncMode ?? false,
            SynchronousModeStrict = s.Bool("synchronous_mode_strict", false),
            SynchronousNodeCount = (int)(s.Int("synchronous_node_count", 1, int.MaxValue) ?? 1),
            FailsafeMode = s.Bool("failsafe_mode", false),
            CheckTimeline = s.Bool("check_timeline", false),
            Pause = s.Bool("pause", false),
            MaxTimelinesHistory = (int)(s.Int("max_timelines_history", 0, int.MaxValue) ?? 0),
            Postgresql = dynPg,
            RawJson = raw is null ? "{}" : PatroniJson.Serialize(raw.ToJson()),
        };
        s.Allow("member_slots_ttl", "primary_race_backoff");
        BindSlotsAndStandbyCluster(s, result.RawJson);
        s.Finish();

        if (timingValid)
        {
            foreach (var problem in HaTiming.Validate(TimeSpan.FromSeconds(result.Ttl), TimeSpan.FromSeconds(result.LoopWait), TimeSpan.FromSeconds(result.RetryTimeout), pgha.FenceSafetyMargin))
            {
                if (problem.Contains("fence safety margin", StringComparison.Ordinal))
                    s.Problems.Error("pgha.fence_safety_margin", problem, s.Source);
                else
                    s.Problems.Error(s.PathPrefix, problem, s.Source);
            }
        }
        return result;
    }

    /// <summary>
    /// <c>slots</c> (and aliases), <c>ignore_slots</c> and <c>standby_cluster</c> travel in the config key as written; the
    /// HA loop reads them with <see cref="ConfigCodec"/>, so that reader validates them here too: whatever it would
    /// ignore is an error now, not a surprise later.
    /// </summary>
    private static void BindSlotsAndStandbyCluster(Section s, string rawJson)
    {
        var keys = new[] { "slots", "permanent_slots", "permanent_replication_slots", "ignore_slots", "standby_cluster" };
        var only = new System.Text.Json.Nodes.JsonObject();
        var all = PatroniJson.TryParse(rawJson, out _) as System.Text.Json.Nodes.JsonObject;
        foreach (var k in keys)
        {
            if (s.Take(k) is null || all?[k] is not { } value) continue;
            only[k] = value.DeepClone();
        }
        var problems = new List<DcsDataProblem>();
        ConfigCodec.Parse(PatroniJson.Serialize(only), default, problems);
        foreach (var problem in problems)
        {
            var key = keys.FirstOrDefault(k => problem.Problem.Contains(k, StringComparison.Ordinal)) ?? (problem.Problem.Contains("slot", StringComparison.Ordinal) ? "slots" : "standby_cluster");
            s.Error(key, problem.Problem, s.Take(key)?.KeySource ?? s.Source);
        }
    }

    private static void WarnBelow(Section s, string key, long? value, int minimum)
    {
        if (value is { } v && v < minimum)
            s.Warn(key, $"{v} is below Patroni's minimum of {minimum} (Patroni 3.2+ raises it to {minimum}); PgHa uses {v}", s.Take(key)?.Value.Source);
    }

    // ---- watchdog / tags / log / pgha ------------------------------------------------------------------------------

    private static WatchdogConfig BindWatchdog(Section s)
    {
        var mode = WatchdogMode.Automatic;
        if (s.Take("mode") is { } m)
        {
            var text = m.Value is ConfigScalar sc ? sc.Kind == ScalarKind.Bool ? ((bool)sc.Value! ? "true" : "false") : sc.Text : null;
            mode = text?.ToLowerInvariant() switch
            {
                "off" or "false" or "disable" or "disabled" => WatchdogMode.Off,
                "automatic" or "auto" => WatchdogMode.Automatic,
                "required" or "require" => WatchdogMode.Required,
                _ => Bad(),
            };
            WatchdogMode Bad()
            {
                s.Error("mode", $"must be off, automatic or required; found {Section.Found(m.Value, false)}", m.Value.Source);
                return WatchdogMode.Automatic;
            }
        }
        var result = new WatchdogConfig
        {
            Mode = mode,
            Device = s.String("device") ?? "/dev/watchdog",
            SafetyMargin = (int)(s.Int("safety_margin", -1, int.MaxValue) ?? 5),
            Driver = s.String("driver") ?? "default",
        };
        s.Finish();
        return result;
    }

    /// <summary>
    /// Patroni's watchdog timeout is ttl − safety_margin (ttl/2 for −1) and must leave room for one loop_wait, or the
    /// watchdog would fire on a healthy leader: unusable, which <c>required</c> makes fatal.
    /// </summary>
    private static void CheckWatchdogTiming(Section root, WatchdogConfig watchdog, DynamicConfig dcs)
    {
        if (watchdog.Mode == WatchdogMode.Off) return;
        var timeout = watchdog.SafetyMargin == -1 ? dcs.Ttl / 2 : dcs.Ttl - watchdog.SafetyMargin;
        if (timeout - dcs.LoopWait >= 0) return;
        var problem = $"the watchdog timeout (ttl {dcs.Ttl} - safety_margin {watchdog.SafetyMargin} = {timeout} s) is shorter than loop_wait ({dcs.LoopWait} s), so the watchdog cannot be used";
        var w = root.Map?.Find("watchdog");
        if (watchdog.Mode == WatchdogMode.Required) root.Problems.Error("watchdog.safety_margin", problem + " and mode is required", w?.KeySource ?? root.Source);
        else root.Problems.Warn("watchdog.safety_margin", problem + "; PgHa runs without it", w?.KeySource ?? root.Source);
    }

    private static readonly string[] BooleanTags = ["nofailover", "clonefrom", "noloadbalance", "nosync", "nostream"];

    private static MemberTags BindTags(Section s)
    {
        var published = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        var hasFailoverPriority = s.Entries.Any(e => e.Key == "failover_priority" && e.Value is not ConfigScalar { Kind: ScalarKind.Null });
        var hasSyncPriority = s.Entries.Any(e => e.Key == "sync_priority" && e.Value is not ConfigScalar { Kind: ScalarKind.Null });
        foreach (var e in s.Entries)
        {
            var path = s.PathOf(e.Key);
            s.Allow(e.Key);
            if (e.Value is ConfigScalar { Kind: ScalarKind.Null }) continue;
            if (BooleanTags.Contains(e.Key))
            {
                if (e.Value is not ConfigScalar { Kind: ScalarKind.Bool } b)
                {
                    s.Problems.Error(path, $"expected true or false, found {Section.Found(e.Value, false)}", e.Value.Source);
                    continue;
                }
                var value = (bool)b.Value!;
                var keepFalse = (e.Key == "nofailover" && hasFailoverPriority) || (e.Key == "nosync" && hasSyncPriority);
                if (value || keepFalse) published.Add(new(e.Key, value ? "true" : "false"));
                continue;
            }
            switch (e.Key)
            {
                case "failover_priority" or "sync_priority":
                    if (s.AsInt(e.Value, path, 0, int.MaxValue) is { } p) published.Add(new(e.Key, p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    continue;
                case "replicatefrom":
                    if (s.AsString(e.Value, path) is { } r) published.Add(new(e.Key, PatroniJson.Serialize(System.Text.Json.Nodes.JsonValue.Create(r))));
                    continue;
                default:
                    published.Add(new(e.Key, PatroniJson.Serialize(e.Value.ToJson())));
                    continue;
            }
        }
        return new MemberTags(published.ToImmutable());
    }

    private static LogConfig BindLog(Section s)
    {
        string[] levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
        var loggers = s.StringMap("loggers");
        var loggersSection = s.Child("loggers");
        foreach (var (k, v) in loggers)
            if (!levels.Contains(v.ToUpperInvariant()))
                s.Problems.Error($"{s.PathOf("loggers")}.{k}", $"must be one of {string.Join(", ", levels)}; found '{v}'", loggersSection.Map?.Find(k)?.Value.Source);
        var result = new LogConfig
        {
            Type = s.Choice("type", "plain", "json") ?? "plain",
            Level = s.Choice("level", levels) ?? "INFO",
            TracebackLevel = s.Choice("traceback_level", levels) ?? "ERROR",
            Format = s.String("format") ?? "%(asctime)s %(levelname)s: %(message)s",
            DateFormat = s.String("dateformat"),
            MaxQueueSize = (int)(s.Int("max_queue_size", 1, int.MaxValue) ?? 1000),
            Dir = s.String("dir"),
            FileNum = (int)(s.Int("file_num", 1, int.MaxValue) ?? 4),
            FileSize = s.Int("file_size", 1) ?? 25000000,
            Loggers = loggers,
        };
        s.Unsupported("", "static_fields", "mode", "deduplicate_heartbeat_logs");
        s.Finish();
        return result;
    }

    private static PgHaSettings BindPgHa(Section s)
    {
        var margin = s.Number("fence_safety_margin", 0, 3600);
        var peer = s.Number("peer_status_timeout", 0.1, 60);
        var result = new PgHaSettings
        {
            FenceSafetyMargin = TimeSpan.FromSeconds(margin ?? 1),
            PeerStatusTimeout = TimeSpan.FromSeconds(peer ?? 2),
            CanBootstrap = s.Bool("can_bootstrap", true),
        };
        s.Finish();
        return result;
    }
}
