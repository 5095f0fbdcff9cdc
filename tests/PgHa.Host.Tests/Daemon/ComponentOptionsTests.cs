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

    private static PgHaConfig Load()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgha-options-{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, Yaml);
        try
        {
            var result = PgHaConfigLoader.Load(path, new Hashtable());
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
}
