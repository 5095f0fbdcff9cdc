using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>PATRONI_* environment overrides (Patroni's <c>_build_environment_configuration</c>) and their PGHA_* aliases.</summary>
public sealed class EnvironmentOverrideTests : ConfigTestBase
{
    public sealed record Case(string Name, Dictionary<string, string> Env, Func<PgHaConfig, object?> Actual, object? Expected)
    {
        public override string ToString() => Name;
    }

    private static Dictionary<string, string> E(params string[] pairs)
    {
        var d = new Dictionary<string, string>();
        for (var i = 0; i < pairs.Length; i += 2) d[pairs[i]] = pairs[i + 1];
        return d;
    }

    public static IEnumerable<TestCaseData> Cases() => new Case[]
    {
        new("PATRONI_NAME", E("PATRONI_NAME", "node9"), c => c.Name, "node9"),
        new("PATRONI_SCOPE", E("PATRONI_SCOPE", "robin"), c => c.Scope, "robin"),
        new("PATRONI_NAMESPACE", E("PATRONI_NAMESPACE", "/pg"), c => c.ClusterPrefix, "/pg/batman/"),
        new("PATRONI_RESTAPI_LISTEN", E("PATRONI_RESTAPI_LISTEN", "10.0.0.1:9008"), c => c.RestApi.Listen, new HostPort("10.0.0.1", 9008)),
        new("PATRONI_RESTAPI_CONNECT_ADDRESS", E("PATRONI_RESTAPI_CONNECT_ADDRESS", "pg1:9008"), c => c.RestApi.ApiUrl, "http://pg1:9008/patroni"),
        new("PATRONI_RESTAPI_USERNAME/PASSWORD", E("PATRONI_RESTAPI_USERNAME", "admin", "PATRONI_RESTAPI_PASSWORD", "pw"),
            c => c.RestApi.Authentication, new BasicAuthentication("admin", new Secret("pw"))),
        new("PATRONI_RESTAPI_CERTFILE switches to https", E("PATRONI_RESTAPI_CERTFILE", "/c.pem"), c => c.RestApi.ApiUrl, "https://10.0.0.1:8008/patroni"),
        new("PATRONI_RESTAPI_ALLOWLIST is a list", E("PATRONI_RESTAPI_ALLOWLIST", "10.0.0.0/8, 192.168.0.1"), c => c.RestApi.Allowlist, new[] { "10.0.0.0/8", "192.168.0.1" }),
        new("PATRONI_RESTAPI_ALLOWLIST as a YAML list", E("PATRONI_RESTAPI_ALLOWLIST", "['a', 'b']"), c => c.RestApi.Allowlist, new[] { "a", "b" }),
        new("PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS", E("PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS", "on"), c => c.RestApi.AllowlistIncludeMembers, true),
        new("PATRONI_RESTAPI_HTTP_EXTRA_HEADERS is a mapping", E("PATRONI_RESTAPI_HTTP_EXTRA_HEADERS", "X-Frame-Options: DENY, X-A: b"),
            c => string.Join(";", c.RestApi.HttpExtraHeaders.Select(h => $"{h.Key}={h.Value}")), "X-Frame-Options=DENY;X-A=b"),
        new("PATRONI_RESTAPI_VERIFY_CLIENT", E("PATRONI_RESTAPI_VERIFY_CLIENT", "required", "PATRONI_RESTAPI_CAFILE", "/ca.pem"), c => c.RestApi.VerifyClient, ClientCertificateMode.Required),
        new("PATRONI_RESTAPI_REQUEST_QUEUE_SIZE", E("PATRONI_RESTAPI_REQUEST_QUEUE_SIZE", "12"), c => c.RestApi.RequestQueueSize, 12),
        new("PATRONI_CTL_* settings", E("PATRONI_CTL_INSECURE", "true", "PATRONI_CTL_USERNAME", "u", "PATRONI_CTL_PASSWORD", "p", "PATRONI_CTL_CACERT", "/ca"),
            c => (c.Ctl.Insecure, c.Ctl.Authentication!.Username, c.Ctl.CaCert), (true, "u", "/ca")),
        new("PATRONI_POSTGRESQL_DATA_DIR", E("PATRONI_POSTGRESQL_DATA_DIR", "/data/pg"), c => c.Postgresql.DataDir, "/data/pg"),
        new("PATRONI_POSTGRESQL_LISTEN with several hosts", E("PATRONI_POSTGRESQL_LISTEN", "10.0.0.1,127.0.0.1:5433"), c => c.Postgresql.Listen, new HostPort("10.0.0.1,127.0.0.1", 5433)),
        new("PATRONI_POSTGRESQL_CONNECT_ADDRESS", E("PATRONI_POSTGRESQL_CONNECT_ADDRESS", "pg1:5433"), c => c.Postgresql.ConnUrl, "postgres://pg1:5433/postgres"),
        new("PATRONI_POSTGRESQL_PROXY_ADDRESS", E("PATRONI_POSTGRESQL_PROXY_ADDRESS", "pg1:6432"), c => c.Postgresql.ProxyUrl, "postgres://pg1:6432/postgres"),
        new("PATRONI_POSTGRESQL_CONFIG_DIR/BIN_DIR/PGPASS", E("PATRONI_POSTGRESQL_CONFIG_DIR", "/etc/pg", "PATRONI_POSTGRESQL_BIN_DIR", "/bin/pg", "PATRONI_POSTGRESQL_PGPASS", "/tmp/pgpass"),
            c => (c.Postgresql.ConfigDir, c.Postgresql.BinDir, c.Postgresql.Pgpass), ("/etc/pg", "/bin/pg", "/tmp/pgpass")),
        new("PATRONI_POSTGRESQL_BIN_PG_CTL", E("PATRONI_POSTGRESQL_BIN_PG_CTL", "pg_ctl15"), c => c.Postgresql.BinName["pg_ctl"], "pg_ctl15"),
        new("PATRONI_SUPERUSER_USERNAME/PASSWORD", E("PATRONI_SUPERUSER_USERNAME", "root", "PATRONI_SUPERUSER_PASSWORD", "rootpw"),
            c => (c.Postgresql.Authentication.Superuser.Username, c.Postgresql.Authentication.Superuser.Password!.Reveal()), ("root", "rootpw")),
        new("PATRONI_REPLICATION_* with ssl options", E("PATRONI_REPLICATION_USERNAME", "repl", "PATRONI_REPLICATION_SSLMODE", "verify-ca", "PATRONI_REPLICATION_SSLROOTCERT", "/ca"),
            c => (c.Postgresql.Authentication.Replication.Username, c.Postgresql.Authentication.Replication.SslMode, c.Postgresql.Authentication.Replication.SslRootCert), ("repl", "verify-ca", "/ca")),
        new("PATRONI_REWIND_USERNAME", E("PATRONI_REWIND_USERNAME", "rewinder", "PATRONI_REWIND_PASSWORD", "rw"), c => c.Postgresql.Authentication.Rewind!.Username, "rewinder"),
        new("env merges into the file's authentication", E("PATRONI_SUPERUSER_SSLMODE", "require"),
            c => (c.Postgresql.Authentication.Superuser.Username, c.Postgresql.Authentication.Superuser.SslMode), ("postgres", "require")),
        new("PATRONI_ETCD3_HOSTS comma list", E("PATRONI_ETCD3_HOSTS", "e1:2379,e2:2379"), c => ((EtcdConfig)c.Dcs).Endpoints, new[] { "http://e1:2379", "http://e2:2379" }),
        new("PATRONI_ETCD3_HOSTS YAML list", E("PATRONI_ETCD3_HOSTS", "- e1:2379\n- e2"), c => ((EtcdConfig)c.Dcs).Endpoints, new[] { "http://e1:2379", "http://e2:2379" }),
        new("PATRONI_ETCD3_PROTOCOL/USERNAME/PASSWORD", E("PATRONI_ETCD3_PROTOCOL", "https", "PATRONI_ETCD3_USERNAME", "u", "PATRONI_ETCD3_PASSWORD", "p"),
            c => (((EtcdConfig)c.Dcs).Endpoints[0], ((EtcdConfig)c.Dcs).Username, ((EtcdConfig)c.Dcs).Password!.Reveal()), ("https://10.0.0.10:2379", "u", "p")),
        new("PATRONI_ETCD_URL selects etcd (v2) over the file's etcd3", E("PATRONI_ETCD_URL", "http://etcd:2379"), c => (c.Dcs.Kind, ((EtcdConfig)c.Dcs).Endpoints[0]), ("etcd", "http://etcd:2379")),
        new("PATRONI_CONSUL_HOST selects consul", E("PATRONI_CONSUL_HOST", "consul:8500", "PATRONI_CONSUL_TOKEN", "t"), c => (c.Dcs.Kind, ((ConsulConfig)c.Dcs).BaseUrl), ("consul", "http://consul:8500")),
        new("PATRONI_CONSUL_* lists and booleans", E("PATRONI_CONSUL_CHECKS", "serfHealth", "PATRONI_CONSUL_SERVICE_TAGS", "a,b", "PATRONI_CONSUL_REGISTER_SERVICE", "true", "PATRONI_CONSUL_VERIFY", "false", "PATRONI_CONSUL_PORT", "8501"),
            c => (string.Join(",", ((ConsulConfig)c.Dcs).Checks), string.Join(",", ((ConsulConfig)c.Dcs).ServiceTags), ((ConsulConfig)c.Dcs).RegisterService, ((ConsulConfig)c.Dcs).Verify, ((ConsulConfig)c.Dcs).BaseUrl),
            ("serfHealth", "a,b", true, false, "http://127.0.0.1:8501")),
        new("PATRONI_ZOOKEEPER_HOSTS selects zookeeper", E("PATRONI_ZOOKEEPER_HOSTS", "['zk1:2181', 'zk2:2181']"), c => ((ZooKeeperConfig)c.Dcs).Hosts.Length, 2),
        new("PATRONI_ZOOKEEPER_SET_ACLS is a mapping", E("PATRONI_ZOOKEEPER_HOSTS", "zk1", "PATRONI_ZOOKEEPER_SET_ACLS", "CN=p1: [READ, WRITE]"),
            c => string.Join(",", ((ZooKeeperConfig)c.Dcs).SetAcls["CN=p1"]), "READ,WRITE"),
        new("PATRONI_LOG_LEVEL", E("PATRONI_LOG_LEVEL", "DEBUG"), c => c.Log.Level, "DEBUG"),
        new("PATRONI_LOGLEVEL (old name)", E("PATRONI_LOGLEVEL", "ERROR"), c => c.Log.Level, "ERROR"),
        new("PATRONI_LOG_LEVEL wins over PATRONI_LOGLEVEL", E("PATRONI_LOGLEVEL", "ERROR", "PATRONI_LOG_LEVEL", "WARNING"), c => c.Log.Level, "WARNING"),
        new("PATRONI_LOG_* numbers and loggers", E("PATRONI_LOG_DIR", "/var/log/pgha", "PATRONI_LOG_FILE_NUM", "7", "PATRONI_LOG_FILE_SIZE", "1000", "PATRONI_LOG_LOGGERS", "patroni.api: WARNING"),
            c => (c.Log.Dir, c.Log.FileNum, c.Log.FileSize, c.Log.Loggers["patroni.api"]), ("/var/log/pgha", 7, 1000L, "WARNING")),
        new("PGHA_ alias alone", E("PGHA_NAME", "pgha-node"), c => c.Name, "pgha-node"),
        new("PGHA_ wins over PATRONI_", E("PATRONI_NAME", "patroni-node", "PGHA_NAME", "pgha-node"), c => c.Name, "pgha-node"),
        new("PGHA_ wins over PATRONI_ for DCS settings", E("PATRONI_ETCD3_HOSTS", "a:1", "PGHA_ETCD3_HOSTS", "b:2"), c => ((EtcdConfig)c.Dcs).Endpoints[0], "http://b:2"),
        new("PGHA_ alias for credentials", E("PATRONI_SUPERUSER_PASSWORD", "old", "PGHA_SUPERUSER_PASSWORD", "new"), c => c.Postgresql.Authentication.Superuser.Password!.Reveal(), "new"),
        new("empty values are ignored, as in Patroni", E("PATRONI_NAME", ""), c => c.Name, "node1"),
        new("bootstrap users from PATRONI_<user>_PASSWORD", E("PATRONI_admin_PASSWORD", "apw", "PATRONI_admin_OPTIONS", "createrole,createdb"),
            c => (c.Bootstrap.Users["admin"].Password!.Reveal(), string.Join(",", c.Bootstrap.Users["admin"].Options)), ("apw", "createrole,createdb")),
    }.Select(c => new TestCaseData(c).SetName(c.Name));

    [TestCaseSource(nameof(Cases))]
    public void Environment_override(Case c)
    {
        var config = LoadValid(BaseYaml, c.Env);
        var actual = c.Actual(config);
        if (actual is System.Collections.IEnumerable seq and not string)
            Assert.That(seq, Is.EqualTo((System.Collections.IEnumerable)c.Expected!));
        else
            Assert.That(actual, Is.EqualTo(c.Expected));
    }

    [Test]
    public void Environment_errors_name_the_variable()
    {
        var result = LoadYaml(BaseYaml, E("PATRONI_RESTAPI_LISTEN", "8008x", "PATRONI_CTL_INSECURE", "maybe", "PGHA_POSTGRESQL_BIN_PGCTL", "x"));
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "$PATRONI_RESTAPI_LISTEN: restapi.listen: '8008x' is not host:port",
            "$PATRONI_CTL_INSECURE: ctl.insecure: expected true or false, found 'maybe'",
            "$PGHA_POSTGRESQL_BIN_PGCTL: postgresql.bin_name.pgctl: unknown binary (did you mean 'pg_ctl'?)",
        }));
    }

    [Test]
    public void Unparseable_list_names_the_variable()
    {
        var result = LoadYaml(BaseYaml, E("PATRONI_ETCD3_HOSTS", "[a, b"));
        var error = result.Errors.Single();
        Assert.That(error.Source, Is.EqualTo(ConfigSource.Environment("PATRONI_ETCD3_HOSTS")));
        Assert.That(error.Path, Is.EqualTo("etcd3.hosts"));
        Assert.That(error.Problem, Does.StartWith("cannot parse the value: YAML syntax error"));
    }

    [Test]
    public void A_bad_variable_does_not_hide_the_file_problems_nor_cause_more_errors()
    {
        var yaml = BaseYaml.Replace("  parameters:", "  paramters:", StringComparison.Ordinal).Replace("etcd3:\n  hosts: 10.0.0.10:2379,10.0.0.11:2379\n", "", StringComparison.Ordinal);
        var result = LoadYaml(yaml, E("PATRONI_ETCD3_HOSTS", "[a", "PATRONI_RESTAPI_ALLOWLIST", "{x: 1}", "PATRONI_LOG_LOGGERS", "- a"));
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[] { "etcd3.hosts", "restapi.allowlist[0]", "log.loggers", "postgresql.paramters" }), result.FormatErrors);
    }

    [Test]
    public void Two_DCS_selected_by_environment_is_an_error()
    {
        var result = LoadYaml(BaseYaml, E("PATRONI_CONSUL_HOST", "c:8500", "PATRONI_ZOOKEEPER_HOSTS", "zk:2181"));
        var error = result.Errors.Single();
        Assert.That(error.Problem, Does.StartWith("more than one DCS section: consul ($PATRONI_CONSUL_HOST), zookeeper ($PATRONI_ZOOKEEPER_HOSTS)"));
    }

    [Test]
    public void Unsupported_DCS_selected_by_environment_is_named()
    {
        var result = LoadYaml(BaseYaml, E("PATRONI_KUBERNETES_NAMESPACE", "default"));
        Assert.That(result.Errors.Single().ToString(), Is.EqualTo("$PATRONI_KUBERNETES_NAMESPACE: kubernetes: not supported by PgHa (only etcd3, etcd, zookeeper and consul are implemented)"));
    }

    [Test]
    public void Unknown_variable_in_a_known_family_is_a_warning()
    {
        var result = LoadYaml(BaseYaml, E("PATRONI_RESTAPI_LISTN", "x", "PGHA_TEST_USER", "someone", "HOME", "/root"));
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Warnings.Single().ToString(), Is.EqualTo("$PATRONI_RESTAPI_LISTN: environment variable PATRONI_RESTAPI_LISTN is not a setting PgHa or Patroni knows; ignored"));
    }

    [Test]
    public void Whole_configuration_from_PATRONI_CONFIGURATION()
    {
        var result = PgHaConfigLoader.Load(null, E("PATRONI_CONFIGURATION", BaseYaml, "PATRONI_NAME", "from-env"));
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Config!.Name, Is.EqualTo("from-env"), "the other overrides still apply");
        Assert.That(result.Config.Scope, Is.EqualTo("batman"));
    }

    [Test]
    public void PGHA_CONFIGURATION_wins_and_its_errors_carry_its_name_and_line()
    {
        var result = PgHaConfigLoader.Load(null, E("PATRONI_CONFIGURATION", BaseYaml, "PGHA_CONFIGURATION", BaseYaml.Replace("name: node1", "nmae: node1", StringComparison.Ordinal)));
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "$PGHA_CONFIGURATION:2: nmae: unknown setting (did you mean 'name'?)",
            "$PGHA_CONFIGURATION:1: name: required setting is missing",
        }));
    }

    [Test]
    public void Configuration_from_variables_only()
    {
        var result = PgHaConfigLoader.Load(null, E(
            "PATRONI_SCOPE", "s", "PATRONI_NAME", "n",
            "PATRONI_RESTAPI_LISTEN", "0.0.0.0:8008", "PATRONI_RESTAPI_CONNECT_ADDRESS", "n:8008",
            "PATRONI_ETCD3_HOSTS", "e:2379",
            "PATRONI_POSTGRESQL_LISTEN", "0.0.0.0:5432", "PATRONI_POSTGRESQL_CONNECT_ADDRESS", "n:5432", "PATRONI_POSTGRESQL_DATA_DIR", "/d"));
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Config!.Identity, Is.EqualTo(new PgHa.Loop.NodeIdentity("n", "postgres://n:5432/postgres", "http://n:8008/patroni")));
    }
}
