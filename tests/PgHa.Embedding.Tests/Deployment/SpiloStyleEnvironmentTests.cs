using System.Text.RegularExpressions;
using PgHa.Dcs.Etcd;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;
using PgHa.Postgres;

namespace PgHa.Embedding.Tests.Deployment;

/// <summary>
/// Spilo-style configuration: a whole node from environment variables only, no file — the image's <c>ENV</c> defaults
/// from <c>deploy/Dockerfile</c> plus what <c>docker run -e</c> adds — carried through to the options of every component
/// the daemon wires (DCS adapter, PostgreSQL controller, HA loop, REST API).
/// </summary>
[TestFixture]
public sealed partial class SpiloStyleEnvironmentTests
{
    private static Dictionary<string, string> DockerfileDefaults()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "Dockerfile"));
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in EnvAssignment().Matches(dockerfile)) env[m.Groups["name"].Value] = m.Groups["value"].Value;
        return env;
    }

    // NAME=value pairs of the ENV instruction (one per line, continued with backslashes).
    [GeneratedRegex(@"^(?:ENV\s+|\s+)(?<name>(?:PATRONI|PGHA)_[A-Z0-9_]+)=(?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex EnvAssignment();

    private static Dictionary<string, string> NodeEnvironment()
    {
        var env = DockerfileDefaults();
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["PATRONI_SCOPE"] = "orders",
            ["PATRONI_NAME"] = "pg1",
            ["PATRONI_NAMESPACE"] = "/db",
            ["PATRONI_RESTAPI_CONNECT_ADDRESS"] = "pg1:8008",
            ["PATRONI_RESTAPI_USERNAME"] = "admin",
            ["PATRONI_RESTAPI_PASSWORD"] = "api-secret",
            ["PATRONI_ETCD3_HOSTS"] = "etcd1:2379,etcd2:2379,etcd3:2379",
            ["PATRONI_ETCD3_USERNAME"] = "pgha",
            ["PATRONI_ETCD3_PASSWORD"] = "etcd-secret",
            ["PATRONI_POSTGRESQL_CONNECT_ADDRESS"] = "pg1:5432",
            ["PATRONI_SUPERUSER_PASSWORD"] = "su-secret",
            ["PATRONI_REPLICATION_PASSWORD"] = "repl-secret",
            ["PATRONI_REWIND_USERNAME"] = "rewinder",
            ["PATRONI_REWIND_PASSWORD"] = "rewind-secret",
            ["PGHA_LOG_LEVEL"] = "DEBUG",
        }) env[name] = value;
        return env;
    }

    [Test]
    public void TheDockerfileSetsItsDefaultsThroughEnv()
    {
        var defaults = DockerfileDefaults();
        Assert.That(defaults.Keys, Is.SupersetOf(new[] { "PATRONI_POSTGRESQL_DATA_DIR", "PATRONI_POSTGRESQL_BIN_DIR", "PATRONI_RESTAPI_LISTEN", "PATRONI_POSTGRESQL_LISTEN" }));
    }

    [Test]
    public void AWholeNodeIsConfiguredFromEnvironmentVariablesAlone()
    {
        var loaded = PgHaConfigLoader.Load(null, NodeEnvironment());
        Assert.That(loaded.Succeeded, loaded.FormatErrors);
        Assert.That(loaded.Warnings, Is.Empty);
        var config = loaded.Config!;

        Assert.That((config.Scope, config.Name, config.ClusterPrefix), Is.EqualTo(("orders", "pg1", "/db/orders/")));
        Assert.That(config.Identity, Is.EqualTo(new PgHa.Loop.NodeIdentity("pg1", "postgres://pg1:5432/postgres", "http://pg1:8008/patroni")));
        Assert.That(config.RestApi.Listen, Is.EqualTo(new HostPort("0.0.0.0", 8008)));
        Assert.That(config.RestApi.Authentication!.Username, Is.EqualTo("admin"));
        Assert.That(config.Log.Level, Is.EqualTo("DEBUG"), "PGHA_ aliases work the same way");

        // The DCS adapter the daemon would create, and its options, are valid.
        var dcs = DcsFactory.Choose(config);
        Assert.That(dcs.Problems, Is.Empty);
        var etcd = ComponentOptions.Etcd(config, (EtcdConfig)config.Dcs);
        Assert.That(etcd.Endpoints, Is.EqualTo(new[] { "http://etcd1:2379", "http://etcd2:2379", "http://etcd3:2379" }));
        Assert.That((etcd.Namespace, etcd.Scope, etcd.Name, etcd.Username, etcd.Password), Is.EqualTo(("/db", "orders", "pg1", "pgha", "etcd-secret")));
        Assert.That(etcd.Validate(), Is.Empty);

        // The PostgreSQL controller's options are complete and valid.
        var postgres = ComponentOptions.Postgres(config);
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, postgres).Failed, Is.False,
            () => string.Join("; ", new PostgresControllerOptionsValidator().Validate(null, postgres).Failures ?? []));
        Assert.That((postgres.DataDirectory, postgres.BinDirectory, postgres.Listen, postgres.ConnectAddress),
            Is.EqualTo(("/var/lib/postgresql/data", "/usr/lib/postgresql/17/bin", "0.0.0.0:5432", "pg1:5432")));
        Assert.That((postgres.Superuser.Username, postgres.Superuser.Password), Is.EqualTo(("postgres", "su-secret")));
        Assert.That((postgres.Replication.Username, postgres.Replication.Password), Is.EqualTo(("replicator", "repl-secret")));
        Assert.That(postgres.Rewind!.Username, Is.EqualTo("rewinder"));

        // The HA loop's options: Patroni's defaults for the dynamic configuration (env cannot set bootstrap.dcs).
        var ha = config.ToHaNodeOptions();
        Assert.That((ha.BootstrapConfig.Ttl, ha.BootstrapConfig.LoopWait, ha.BootstrapConfig.RetryTimeout), Is.EqualTo((30, 10, 10)));
    }

    [Test]
    public void WithoutTheRequiredVariablesEveryMissingSettingIsNamed()
    {
        var env = DockerfileDefaults();
        var loaded = PgHaConfigLoader.Load(null, env);
        Assert.That(loaded.Succeeded, Is.False);
        var errors = loaded.FormatErrors();
        Assert.That(errors, Does.Contain("scope"));
        Assert.That(errors, Does.Contain("name"));
    }
}
