using System.Collections;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;

namespace PgHa.Host.Tests.Daemon;

/// <summary>The daemon hands the validated configuration to the library components with Patroni's precedence rules.</summary>
[TestFixture]
public sealed class ComponentOptionsTests
{
    private const string Yaml = """
        scope: demo
        name: node1
        restapi: {listen: 127.0.0.1:8008, connect_address: 127.0.0.1:8008}
        etcd3: {hosts: [127.0.0.1:2379, 127.0.0.2:2379], username: u, password: p}
        bootstrap:
          dcs:
            ttl: 10
            loop_wait: 2
            retry_timeout: 3
            postgresql:
              use_pg_rewind: true
              parameters: {max_connections: 200, work_mem: 8MB}
          initdb: [{encoding: UTF8}, data-checksums]
          pg_hba: [host all all 0.0.0.0/0 md5]
        postgresql:
          listen: 127.0.0.1:5432
          connect_address: 127.0.0.1:5432
          data_dir: /tmp/x/data
          authentication:
            superuser: {username: postgres, password: s}
            replication: {username: replicator, password: r}
          parameters: {max_connections: 50, work_mem: 16MB, hot_standby_feedback: on, unix_socket_directories: '/tmp/x,/tmp/y'}
        """;

    private static PgHaConfig Load(string yaml = Yaml, Hashtable? environment = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgha-options-{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        try
        {
            var result = PgHaConfigLoader.Load(path, environment ?? new Hashtable());
            Assert.That(result.Succeeded, Is.True, result.FormatErrors());
            return result.Config!;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void EtcdGetsEveryEndpointTheScopeAndRetryTimeout()
    {
        var config = Load();
        var etcd = ComponentOptions.Etcd(config, (EtcdConfig)config.Dcs);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(etcd.Endpoints, Is.EqualTo(new[] { "http://127.0.0.1:2379", "http://127.0.0.2:2379" }));
            Assert.That(etcd.Scope, Is.EqualTo("demo"));
            Assert.That(etcd.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(etcd.Password, Is.EqualTo("p"));
        }
    }

    [Test]
    public void LocalParametersOverrideDynamicOnesExceptClusterWideSettings()
    {
        var pg = ComponentOptions.Postgres(Load());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pg.Parameters["max_connections"], Is.EqualTo("200"), "must match on every member: only the cluster-wide value counts");
            Assert.That(pg.Parameters["work_mem"], Is.EqualTo("16MB"));
            Assert.That(pg.Parameters["hot_standby_feedback"], Is.EqualTo("on"));
            Assert.That(pg.Parameters.ContainsKey("unix_socket_directories"), Is.False);
            Assert.That(pg.UnixSocketDirectory, Is.EqualTo("/tmp/x"));
        }
    }

    [Test]
    public void CarriesCredentialsInitdbHbaAndRewind()
    {
        var pg = ComponentOptions.Postgres(Load());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pg.Replication.Username, Is.EqualTo("replicator"));
            Assert.That(pg.Replication.Password, Is.EqualTo("r"));
            Assert.That(pg.InitdbOptions, Is.EqualTo(new[] { "--encoding=UTF8", "--data-checksums" }));
            Assert.That(pg.PgHba, Is.EqualTo(new[] { "host all all 0.0.0.0/0 md5" }));
            Assert.That(pg.UsePgRewind, Is.True);
            Assert.That(pg.MemberName, Is.EqualTo("node1"));
        }
    }

    [Test]
    public void CarriesEachUsersConnectionOptionsInsteadOfDroppingThem()
    {
        var yaml = Yaml.Replace(
            "    replication: {username: replicator, password: r}\n",
            """
                replication: {username: replicator, password: r, sslmode: verify-full, sslrootcert: /etc/ssl/root.crt, sslcert: /etc/ssl/c.crt, sslkey: /etc/ssl/c.key, sslpassword: kp, sslcrl: /etc/ssl/crl.pem, sslcrldir: /etc/ssl/crl.d, gssencmode: disable, channel_binding: require}
                rewind: {username: rewinder, password: w, sslmode: require}

            """, StringComparison.Ordinal);
        Assert.That(yaml, Does.Contain("rewinder"), "the fixture's replication line moved");
        var pg = ComponentOptions.Postgres(Load(yaml, new Hashtable { ["PATRONI_SUPERUSER_SSLMODE"] = "verify-ca", ["PATRONI_SUPERUSER_GSSENCMODE"] = "require" }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pg.Replication.EffectiveConnection, Is.EqualTo(new PgHa.Postgres.PostgresConnectionParameters
            {
                SslMode = "verify-full",
                SslRootCert = "/etc/ssl/root.crt",
                SslCert = "/etc/ssl/c.crt",
                SslKey = "/etc/ssl/c.key",
                SslPassword = "kp",
                SslCrl = "/etc/ssl/crl.pem",
                SslCrlDir = "/etc/ssl/crl.d",
                GssEncMode = "disable",
                ChannelBinding = "require",
            }));
            Assert.That(pg.Rewind, Is.Not.Null);
            Assert.That((pg.Rewind!.Username, pg.Rewind.Password, pg.Rewind.EffectiveConnection.SslMode), Is.EqualTo(("rewinder", "w", "require")));
            Assert.That(pg.Rewind.EffectiveConnection.SslRootCert, Is.Null);
            Assert.That(pg.EffectiveRewind, Is.SameAs(pg.Rewind));
            Assert.That((pg.Superuser.EffectiveConnection.SslMode, pg.Superuser.EffectiveConnection.GssEncMode), Is.EqualTo(("verify-ca", "require")),
                "PATRONI_SUPERUSER_* reach the agent's own connections");
            Assert.That(new PgHa.Postgres.PostgresControllerOptionsValidator().Validate(null, pg).Succeeded, Is.True);
        }
        var plain = ComponentOptions.Postgres(Load());
        Assert.That(plain.Replication.EffectiveConnection.IsEmpty && plain.Superuser.EffectiveConnection.IsEmpty, Is.True, "nothing configured, nothing added");
    }
}
