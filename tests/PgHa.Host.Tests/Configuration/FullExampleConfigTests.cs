using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>A Patroni configuration using every section PgHa reads parses, with every value where it belongs.</summary>
public sealed class FullExampleConfigTests : ConfigTestBase
{
    public const string FullYaml = """
        scope: orders
        namespace: /db/
        name: pg-a
        log:
          type: plain
          level: WARNING
          traceback_level: DEBUG
          format: '%(asctime)s %(levelname)s: %(message)s'
          dateformat: '%Y-%m-%d %H:%M:%S'
          max_queue_size: 500
          dir: /var/log/patroni
          file_num: 10
          file_size: 50000000
          loggers:
            patroni.postmaster: WARNING
            urllib3: DEBUG
        restapi:
          listen: 0.0.0.0:8008
          connect_address: pg-a.example.net:8008
          authentication:
            username: admin
            password: rest-p4ss
          certfile: /etc/ssl/pg-a.pem
          keyfile: /etc/ssl/pg-a.key
          keyfile_password: key-p4ss
          cafile: /etc/ssl/ca.pem
          verify_client: optional
          allowlist: [127.0.0.1, 10.0.0.0/8]
          allowlist_include_members: true
          http_extra_headers:
            X-Frame-Options: SAMEORIGIN
          https_extra_headers:
            Strict-Transport-Security: max-age=31536000
          request_queue_size: 10
        ctl:
          authentication:
            username: ctl
            password: ctl-p4ss
          insecure: false
          cacert: /etc/ssl/ca.pem
          certfile: /etc/ssl/ctl.pem
          keyfile: /etc/ssl/ctl.key
          keyfile_password: ctl-key-p4ss
        etcd3:
          hosts:
          - etcd1:2379
          - etcd2
          - 10.0.0.3:2381
          protocol: https
          username: patroni
          password: etcd-p4ss
          cacert: /etc/ssl/etcd-ca.pem
          cert: /etc/ssl/etcd.pem
          key: /etc/ssl/etcd.key
        bootstrap:
          dcs:
            ttl: 40
            loop_wait: 10
            retry_timeout: 12
            maximum_lag_on_failover: 33554432
            maximum_lag_on_syncnode: 16777216
            master_start_timeout: 120
            primary_stop_timeout: 30
            synchronous_mode: true
            synchronous_mode_strict: false
            synchronous_node_count: 2
            failsafe_mode: true
            check_timeline: true
            max_timelines_history: 50
            postgresql:
              use_pg_rewind: true
              use_slots: false
              parameters:
                max_connections: 200
                wal_level: logical
                wal_log_hints: on
                shared_buffers: 1GB
              pg_hba:
              - host replication replicator 10.0.0.0/8 scram-sha-256
              recovery_conf:
                restore_command: cp /archive/%f %p
          method: pgbackrest
          pgbackrest:
            command: /usr/bin/pgbackrest-restore.sh
            keep_existing_recovery_conf: true
            no_params: false
            recovery_conf:
              recovery_target_timeline: latest
              restore_command: pgbackrest --stanza=main archive-get %f %p
            stanza: main
          initdb:
          - encoding: UTF8
          - locale: C.UTF-8
          - data-checksums
          pg_hba:
          - host all all 0.0.0.0/0 scram-sha-256
          post_bootstrap: /usr/local/bin/post-bootstrap.sh
          users:
            app:
              password: app-p4ss
              options: [createdb]
        postgresql:
          listen: 10.0.0.1,127.0.0.1:5432
          connect_address: pg-a.example.net:5432
          proxy_address: pg-a.example.net:6432
          data_dir: /var/lib/postgresql/16/main
          config_dir: /etc/postgresql/16/main
          bin_dir: /usr/lib/postgresql/16/bin
          bin_name:
            pg_ctl: pg_ctl.wrapper
          pgpass: /tmp/pgpass0
          authentication:
            superuser:
              username: postgres
              password: super-p4ss
              sslmode: verify-full
              sslrootcert: /etc/ssl/ca.pem
            replication:
              username: replicator
              password: repl-p4ss
              sslmode: require
              sslkey: /etc/ssl/repl.key
              sslcert: /etc/ssl/repl.pem
              sslpassword: repl-ssl-p4ss
            rewind:
              username: rewinder
              password: rewind-p4ss
              channel_binding: require
          parameters:
            unix_socket_directories: /var/run/postgresql
            shared_preload_libraries: pg_stat_statements
            random_page_cost: 1.1
            jit: off
            work_mem: 64MB
          pg_hba:
          - local all all peer
          - hostssl all all 0.0.0.0/0 scram-sha-256
          pg_ident:
          - omicron bryanh bryanh
          callbacks:
            on_start: /usr/local/bin/cb.sh
            on_stop: /usr/local/bin/cb.sh
            on_restart: /usr/local/bin/cb.sh
            on_reload: /usr/local/bin/cb.sh
            on_role_change: /usr/local/bin/cb.sh
          create_replica_methods:
          - pgbackrest
          - basebackup
          pgbackrest:
            command: /usr/bin/pgbackrest --stanza=main --delta restore
            keep_data: true
            no_params: true
            no_master: 1
          basebackup:
            max-rate: 100M
            checkpoint: fast
          use_pg_rewind: true
          rewind:
          - progress
          remove_data_directory_on_rewind_failure: true
          remove_data_directory_on_diverged_timelines: false
          pre_promote: /usr/local/bin/fence.sh
          before_stop: /usr/local/bin/drain.sh
          pg_ctl_timeout: 120
          use_unix_socket: true
          use_unix_socket_repl: true
          recovery_conf:
            recovery_min_apply_delay: 0
          custom_conf: /etc/postgresql/16/main/base.conf
        watchdog:
          mode: required
          device: /dev/watchdog1
          safety_margin: -1
        tags:
          nofailover: false
          failover_priority: 2
          clonefrom: true
          noloadbalance: false
          replicatefrom: pg-b
          nosync: false
          nostream: false
          dc: east
          maintenance_window: false
        pgha:
          fence_safety_margin: 2.5
          peer_status_timeout: 3
          can_bootstrap: false
        """;

    [Test]
    public void Full_example_loads_every_section()
    {
        var result = LoadYaml(FullYaml);
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Warnings.Select(w => w.Path), Is.EquivalentTo(new[] { "bootstrap.users" }));
        var c = result.Config!;
        Assert.Multiple(() =>
        {
            Assert.That(c.Scope, Is.EqualTo("orders"));
            Assert.That(c.ClusterPrefix, Is.EqualTo("/db/orders/"));
            Assert.That(c.Name, Is.EqualTo("pg-a"));

            Assert.That(c.Log, Is.EqualTo(new LogConfig
            {
                Type = "plain", Level = "WARNING", TracebackLevel = "DEBUG", Format = "%(asctime)s %(levelname)s: %(message)s",
                DateFormat = "%Y-%m-%d %H:%M:%S", MaxQueueSize = 500, Dir = "/var/log/patroni", FileNum = 10, FileSize = 50000000,
                Loggers = new OrderedMap<string>([new("patroni.postmaster", "WARNING"), new("urllib3", "DEBUG")]),
            }));

            var api = c.RestApi;
            Assert.That(api.Listen, Is.EqualTo(new HostPort("0.0.0.0", 8008)));
            Assert.That(api.ApiUrl, Is.EqualTo("https://pg-a.example.net:8008/patroni"));
            Assert.That(api.Authentication, Is.EqualTo(new BasicAuthentication("admin", new Secret("rest-p4ss"))));
            Assert.That(api.KeyFile, Is.EqualTo("/etc/ssl/pg-a.key"));
            Assert.That(api.KeyFilePassword!.Reveal(), Is.EqualTo("key-p4ss"));
            Assert.That(api.CaFile, Is.EqualTo("/etc/ssl/ca.pem"));
            Assert.That(api.VerifyClient, Is.EqualTo(ClientCertificateMode.Optional));
            Assert.That(api.Allowlist, Is.EqualTo(new[] { "127.0.0.1", "10.0.0.0/8" }));
            Assert.That(api.AllowlistIncludeMembers, Is.True);
            Assert.That(api.HttpExtraHeaders["X-Frame-Options"], Is.EqualTo("SAMEORIGIN"));
            Assert.That(api.HttpsExtraHeaders["Strict-Transport-Security"], Is.EqualTo("max-age=31536000"));
            Assert.That(api.RequestQueueSize, Is.EqualTo(10));

            Assert.That(c.Ctl.Authentication!.Username, Is.EqualTo("ctl"));
            Assert.That(c.Ctl.Insecure, Is.False);
            Assert.That(c.Ctl.CertFile, Is.EqualTo("/etc/ssl/ctl.pem"));
            Assert.That(c.Ctl.KeyFilePassword!.Reveal(), Is.EqualTo("ctl-key-p4ss"));

            var etcd = (EtcdConfig)c.Dcs;
            Assert.That(etcd.V3, Is.True);
            Assert.That(etcd.Endpoints, Is.EqualTo(new[] { "https://etcd1:2379", "https://etcd2:2379", "https://10.0.0.3:2381" }));
            Assert.That(etcd.Username, Is.EqualTo("patroni"));
            Assert.That(etcd.Password!.Reveal(), Is.EqualTo("etcd-p4ss"));
            Assert.That((etcd.CaCert, etcd.Cert, etcd.Key), Is.EqualTo(("/etc/ssl/etcd-ca.pem", "/etc/ssl/etcd.pem", "/etc/ssl/etcd.key")));

            var dcs = c.Bootstrap.Dcs;
            Assert.That((dcs.Ttl, dcs.LoopWait, dcs.RetryTimeout), Is.EqualTo((40, 10, 12)));
            Assert.That(dcs.MaximumLagOnFailover, Is.EqualTo(33554432));
            Assert.That(dcs.MaximumLagOnSyncnode, Is.EqualTo(16777216));
            Assert.That(dcs.PrimaryStartTimeout, Is.EqualTo(120), "master_start_timeout is the old name");
            Assert.That(dcs.PrimaryStopTimeout, Is.EqualTo(30));
            Assert.That(dcs.SynchronousMode && !dcs.SynchronousModeStrict && dcs.FailsafeMode && dcs.CheckTimeline, Is.True);
            Assert.That(dcs.SynchronousNodeCount, Is.EqualTo(2));
            Assert.That(dcs.MaxTimelinesHistory, Is.EqualTo(50));
            Assert.That(dcs.Postgresql.UsePgRewind, Is.True);
            Assert.That(dcs.Postgresql.UseSlots, Is.False);
            Assert.That(dcs.Postgresql.Parameters.Keys, Is.EqualTo(new[] { "max_connections", "wal_level", "wal_log_hints", "shared_buffers" }));
            Assert.That(dcs.Postgresql.Parameters["wal_log_hints"].ToPostgresValue(), Is.EqualTo("on"));
            Assert.That(dcs.Postgresql.PgHba, Has.Length.EqualTo(1));
            Assert.That(dcs.Postgresql.RecoveryConf["restore_command"].Text, Is.EqualTo("cp /archive/%f %p"));
            Assert.That(dcs.RawJson, Does.StartWith("{\"ttl\":40,\"loop_wait\":10,\"retry_timeout\":12,"));
            Assert.That(dcs.RawJson, Does.Contain("\"master_start_timeout\":120"));
            Assert.That(dcs.RawJson, Does.Contain("\"wal_log_hints\":true"));

            var boot = c.Bootstrap;
            Assert.That(boot.Method, Is.EqualTo("pgbackrest"));
            var method = boot.Methods["pgbackrest"];
            Assert.That(method.Command, Is.EqualTo("/usr/bin/pgbackrest-restore.sh"));
            Assert.That(method.KeepExistingRecoveryConf, Is.True);
            Assert.That(method.RecoveryConf["recovery_target_timeline"].Text, Is.EqualTo("latest"));
            Assert.That(method.Options.Keys, Is.EqualTo(new[] { "stanza" }));
            Assert.That(boot.Initdb.Select(o => o.ToArgument()), Is.EqualTo(new[] { "--encoding=UTF8", "--locale=C.UTF-8", "--data-checksums" }));
            Assert.That(boot.PgHba, Has.Length.EqualTo(1));
            Assert.That(boot.PostBootstrap, Is.EqualTo("/usr/local/bin/post-bootstrap.sh"));
            Assert.That(boot.Users["app"].Password!.Reveal(), Is.EqualTo("app-p4ss"));
            Assert.That(boot.Users["app"].Options, Is.EqualTo(new[] { "createdb" }));

            var pg = c.Postgresql;
            Assert.That(pg.Listen.Hosts, Is.EqualTo(new[] { "10.0.0.1", "127.0.0.1" }));
            Assert.That(pg.Listen.Port, Is.EqualTo(5432));
            Assert.That(pg.ConnUrl, Is.EqualTo("postgres://pg-a.example.net:5432/postgres"));
            Assert.That(pg.ProxyUrl, Is.EqualTo("postgres://pg-a.example.net:6432/postgres"));
            Assert.That(pg.DataDir, Is.EqualTo("/var/lib/postgresql/16/main"));
            Assert.That(pg.ConfigDir, Is.EqualTo("/etc/postgresql/16/main"));
            Assert.That(pg.BinDir, Is.EqualTo("/usr/lib/postgresql/16/bin"));
            Assert.That(pg.BinName["pg_ctl"], Is.EqualTo("pg_ctl.wrapper"));
            Assert.That(pg.Pgpass, Is.EqualTo("/tmp/pgpass0"));
            Assert.That(pg.Authentication.Superuser.SslMode, Is.EqualTo("verify-full"));
            Assert.That(pg.Authentication.Replication.SslPassword!.Reveal(), Is.EqualTo("repl-ssl-p4ss"));
            Assert.That(pg.Authentication.Rewind!.Username, Is.EqualTo("rewinder"));
            Assert.That(pg.Authentication.Rewind.ChannelBinding, Is.EqualTo("require"));
            Assert.That(pg.Parameters["random_page_cost"], Is.EqualTo(new ScalarValue(ScalarValueKind.Float, "1.1", "1.1")));
            Assert.That(pg.Parameters["jit"].ToPostgresValue(), Is.EqualTo("off"));
            Assert.That(pg.PgHba, Has.Length.EqualTo(2));
            Assert.That(pg.PgIdent, Has.Length.EqualTo(1));
            Assert.That(pg.Callbacks, Is.EqualTo(new PgCallbacks
            {
                OnStart = "/usr/local/bin/cb.sh", OnStop = "/usr/local/bin/cb.sh", OnRestart = "/usr/local/bin/cb.sh",
                OnReload = "/usr/local/bin/cb.sh", OnRoleChange = "/usr/local/bin/cb.sh",
            }));
            Assert.That(pg.CreateReplicaMethods, Is.EqualTo(new[] { "pgbackrest", "basebackup" }));
            Assert.That(pg.ReplicaMethods["pgbackrest"], Is.EqualTo(new ReplicaMethodConfig
            {
                Command = "/usr/bin/pgbackrest --stanza=main --delta restore", KeepData = true, NoParams = true, NoLeader = true,
            }));
            Assert.That(pg.Basebackup.Select(o => o.ToArgument()), Is.EqualTo(new[] { "--max-rate=100M", "--checkpoint=fast" }));
            Assert.That(pg.UsePgRewind, Is.True);
            Assert.That(pg.Rewind.Select(o => o.ToArgument()), Is.EqualTo(new[] { "--progress" }));
            Assert.That(pg.RemoveDataDirectoryOnRewindFailure, Is.True);
            Assert.That(pg.RemoveDataDirectoryOnDivergedTimelines, Is.False);
            Assert.That(pg.PrePromote, Is.EqualTo("/usr/local/bin/fence.sh"));
            Assert.That(pg.BeforeStop, Is.EqualTo("/usr/local/bin/drain.sh"));
            Assert.That(pg.PgCtlTimeout, Is.EqualTo(120));
            Assert.That(pg.UseUnixSocket && pg.UseUnixSocketRepl, Is.True);
            Assert.That(pg.RecoveryConf["recovery_min_apply_delay"].Kind, Is.EqualTo(ScalarValueKind.Integer));
            Assert.That(pg.CustomConf, Is.EqualTo("/etc/postgresql/16/main/base.conf"));

            Assert.That(c.Watchdog, Is.EqualTo(new WatchdogConfig { Mode = WatchdogMode.Required, Device = "/dev/watchdog1", SafetyMargin = -1 }));

            Assert.That(c.Tags.Entries.Select(e => $"{e.Key}={e.Value}"), Is.EqualTo(new[]
            {
                "nofailover=false", "failover_priority=2", "clonefrom=true", "replicatefrom=\"pg-b\"", "dc=\"east\"", "maintenance_window=false",
            }), "false built-in tags dropped (nofailover kept next to failover_priority); custom tags kept whatever their value");
            Assert.That(c.Tags.NoFailover, Is.False);
            Assert.That(c.Tags.FailoverPriority, Is.EqualTo(2));
            Assert.That(c.Tags.ReplicateFrom, Is.EqualTo("pg-b"));

            Assert.That(c.PgHa, Is.EqualTo(new PgHaSettings { FenceSafetyMargin = TimeSpan.FromSeconds(2.5), PeerStatusTimeout = TimeSpan.FromSeconds(3), CanBootstrap = false }));
        });
    }

    [Test]
    public void Full_example_converts_to_HA_node_options()
    {
        var options = LoadValid(FullYaml).ToHaNodeOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.Identity.Name, Is.EqualTo("pg-a"));
            Assert.That(options.Identity.ConnUrl, Is.EqualTo("postgres://pg-a.example.net:5432/postgres"));
            Assert.That(options.Identity.ApiUrl, Is.EqualTo("https://pg-a.example.net:8008/patroni"));
            Assert.That(options.CanBootstrap, Is.False);
            Assert.That(options.FenceSafetyMargin, Is.EqualTo(TimeSpan.FromSeconds(2.5)));
            Assert.That(options.PeerStatusTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(options.Tags.FailoverPriority, Is.EqualTo(2));
            var g = options.BootstrapConfig;
            Assert.That((g.Ttl, g.LoopWait, g.RetryTimeout), Is.EqualTo((40, 10, 12)));
            Assert.That(g.PrimaryStartTimeout, Is.EqualTo(120));
            Assert.That(g.PrimaryStopTimeout, Is.EqualTo(30));
            Assert.That(g.SynchronousMode && g.FailsafeMode && g.CheckTimeline && g.UsePgRewind, Is.True);
            Assert.That(g.UseSlots, Is.False);
            Assert.That(g.SynchronousNodeCount, Is.EqualTo(2));
            Assert.That(g.MaximumLagOnFailover, Is.EqualTo(33554432));
            Assert.That(PgHa.Cluster.Serialization.ConfigCodec.Serialize(g), Is.EqualTo(g.RawJson), "written to the config key as loaded");
        });
    }

    [Test]
    public void Zookeeper_and_consul_sections_parse()
    {
        var zk = LoadValid(BaseYaml.Replace("etcd3:\n  hosts: 10.0.0.10:2379,10.0.0.11:2379", """
            zookeeper:
              hosts: ['zk1:2181', 'zk2']
              use_ssl: true
              verify: false
              cacert: /ca.pem
              cert: /zk.pem
              key: /zk.key
              key_password: zk-p4ss
              set_acls:
                CN=principal1: [ALL]
              auth_data:
                digest: user:zk-digest-p4ss
            """, StringComparison.Ordinal));
        var consul = LoadValid(BaseYaml.Replace("etcd3:\n  hosts: 10.0.0.10:2379,10.0.0.11:2379", """
            consul:
              host: consul.local
              port: 8501
              scheme: https
              token: consul-t0ken
              verify: true
              cacert: /ca.pem
              cert: /c.pem
              key: /c.key
              dc: east
              consistency: consistent
              checks: []
              register_service: true
              service_tags: [pg, ha]
              service_check_interval: 10s
              service_check_tls_server_name: pg.local
            """, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            var z = (ZooKeeperConfig)zk.Dcs;
            Assert.That(z.Hosts, Is.EqualTo(new[] { new HostPort("zk1", 2181), new HostPort("zk2", 2181) }));
            Assert.That(z.UseSsl && !z.Verify, Is.True);
            Assert.That(z.KeyPassword!.Reveal(), Is.EqualTo("zk-p4ss"));
            Assert.That(z.SetAcls["CN=principal1"], Is.EqualTo(new[] { "ALL" }));
            Assert.That(z.AuthData["digest"].Reveal(), Is.EqualTo("user:zk-digest-p4ss"));
            var c = (ConsulConfig)consul.Dcs;
            Assert.That(c.BaseUrl, Is.EqualTo("https://consul.local:8501"));
            Assert.That(c.Token!.Reveal(), Is.EqualTo("consul-t0ken"));
            Assert.That(c.Dc, Is.EqualTo("east"));
            Assert.That(c.Consistency, Is.EqualTo("consistent"));
            Assert.That(c.Checks, Is.Empty);
            Assert.That(c.RegisterService, Is.True);
            Assert.That(c.ServiceTags, Is.EqualTo(new[] { "pg", "ha" }));
            Assert.That(c.ServiceCheckInterval, Is.EqualTo("10s"));
            Assert.That(c.ServiceCheckTlsServerName, Is.EqualTo("pg.local"));
        });
    }

    [Test]
    public void Restapi_listen_without_host_binds_every_address_as_in_Patroni()
    {
        var c = LoadValid(BaseYaml.Replace("  listen: 0.0.0.0:8008", "  listen: :8008", StringComparison.Ordinal));
        Assert.That(c.RestApi.Listen, Is.EqualTo(new HostPort("0.0.0.0", 8008)));
    }

    [TestCase("[::1]:8008", "::1", "http://[::1]:8008/patroni")]
    [TestCase("fe80::1:8008", "fe80::1", "http://[fe80::1]:8008/patroni")]
    [TestCase("pg1.example.net:8443", "pg1.example.net", "http://pg1.example.net:8443/patroni")]
    public void Connect_address_forms(string address, string host, string apiUrl)
    {
        var c = LoadValid(BaseYaml.Replace("  connect_address: 10.0.0.1:8008", $"  connect_address: '{address}'", StringComparison.Ordinal));
        Assert.That(c.RestApi.ConnectAddress.Host, Is.EqualTo(host));
        Assert.That(c.RestApi.ApiUrl, Is.EqualTo(apiUrl));
    }

    [Test]
    public void Defaults_match_Patroni()
    {
        var c = LoadValid(BaseYaml.Replace("watchdog:\n  mode: off", "", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(c.Namespace, Is.EqualTo("/service/"));
            Assert.That(c.ClusterPrefix, Is.EqualTo("/service/batman/"));
            Assert.That(c.RestApi.ApiUrl, Is.EqualTo("http://10.0.0.1:8008/patroni"));
            Assert.That(c.RestApi.RequestQueueSize, Is.EqualTo(5));
            Assert.That(c.Postgresql.PgCtlTimeout, Is.EqualTo(60));
            Assert.That(c.Postgresql.CreateReplicaMethods, Is.EqualTo(new[] { "basebackup" }));
            Assert.That(c.Postgresql.Database, Is.EqualTo("postgres"));
            Assert.That(c.Watchdog, Is.EqualTo(new WatchdogConfig()));
            Assert.That(c.Watchdog.Mode, Is.EqualTo(WatchdogMode.Automatic));
            Assert.That(c.Watchdog.SafetyMargin, Is.EqualTo(5));
            Assert.That(c.Log.Level, Is.EqualTo("INFO"));
            Assert.That(c.Bootstrap.Method, Is.EqualTo("initdb"));
            Assert.That(c.PgHa, Is.EqualTo(new PgHaSettings()));
            Assert.That(c.PgHa.FenceSafetyMargin, Is.EqualTo(TimeSpan.FromSeconds(1)));
            var g = c.ToGlobalConfig();
            Assert.That(g with { RawJson = "{}" }, Is.EqualTo(PgHa.Cluster.GlobalConfig.Default with { RawJson = "{}" }));
            Assert.That(g.RawJson, Is.EqualTo("{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10}"));
        });
    }
}
