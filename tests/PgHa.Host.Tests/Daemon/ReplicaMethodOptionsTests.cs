using System.Collections;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;
using PgHa.Postgres;

namespace PgHa.Host.Tests.Daemon;

/// <summary>create_replica_methods, basebackup, a custom bootstrap.method and recovery_conf reach the PostgreSQL controller.</summary>
[TestFixture]
public sealed class ReplicaMethodOptionsTests
{
    private static PgHaConfig Load(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgha-methods-{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
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

    private const string Head = """
        scope: demo
        name: node1
        restapi: {listen: 127.0.0.1:8008, connect_address: 127.0.0.1:8008}
        etcd3: {hosts: 127.0.0.1:2379}
        """;

    [Test]
    public void MethodsAreMappedInOrderWithTheirParametersAndFlags()
    {
        var config = Load(Head + """

            bootstrap:
              method: from_backup
              from_backup:
                command: /usr/local/bin/restore --from 'last night'
                keep_existing_recovery_conf: true
                label: nightly
                recovery_conf:
                  restore_command: cp /archive/%f %p
                  recovery_target_action: promote
            postgresql:
              listen: 127.0.0.1:5432
              connect_address: 127.0.0.1:5432
              data_dir: /tmp/x/data
              create_replica_methods: [wal_g, basebackup]
              wal_g:
                command: wal-g backup-fetch
                no_leader: true
                keep_data: true
                envdir: /etc/wal-g
                use_iam: 1
                verbose: true
              basebackup:
                max-rate: 100M
              recovery_conf:
                restore_command: wal-g wal-fetch %f %p
            """);
        var options = ComponentOptions.Postgres(config);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.CreateReplicaMethods.Select(m => m.Name), Is.EqualTo(new[] { "wal_g", "basebackup" }));
            var walg = options.CreateReplicaMethods[0];
            Assert.That((walg.Command, walg.NoLeader, walg.KeepData, walg.NoParams), Is.EqualTo(("wal-g backup-fetch", true, true, false)));
            Assert.That(walg.Parameters.Select(p => $"--{p.Key}={p.Value}"), Is.EqualTo(new[] { "--envdir=/etc/wal-g", "--use_iam=1", "--verbose=True" }),
                "Patroni renders a YAML value with Python's str()");
            Assert.That(options.CreateReplicaMethods[1].IsBasebackup, Is.True);
            Assert.That(options.BasebackupOptions, Is.EqualTo(new[] { "--max-rate=100M" }));
            Assert.That(options.CanCreateReplicaWithoutLeader, Is.True);
            Assert.That(config.ToHaNodeOptions().CanCreateReplicaWithoutLeader, Is.True);
            Assert.That(options.BootstrapMethod, Is.Not.Null);
            Assert.That((options.BootstrapMethod!.Name, options.BootstrapMethod.Command, options.BootstrapMethod.KeepExistingRecoveryConf),
                Is.EqualTo(("from_backup", "/usr/local/bin/restore --from 'last night'", true)));
            Assert.That(options.BootstrapMethod.Parameters, Is.EqualTo(new[] { KeyValuePair.Create("label", "nightly") }));
            Assert.That(options.BootstrapMethod.RecoveryConf.Select(p => p.Key), Is.EqualTo(new[] { "restore_command", "recovery_target_action" }));
            Assert.That(options.RecoveryConf["restore_command"], Is.EqualTo("wal-g wal-fetch %f %p"));
        }
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, options).Failed, Is.False);
    }

    [Test]
    public void WithoutMethodsBasebackupAloneIsUsedAndNothingWorksWithoutALeader()
    {
        var config = Load(Head + """

            postgresql:
              listen: 127.0.0.1:5432
              connect_address: 127.0.0.1:5432
              data_dir: /tmp/x/data
            """);
        var options = ComponentOptions.Postgres(config);
        Assert.That(options.EffectiveReplicaMethods.Select(m => m.Name), Is.EqualTo(new[] { "basebackup" }));
        Assert.That(options.BootstrapMethod, Is.Null);
        Assert.That(options.CanCreateReplicaWithoutLeader, Is.False);
        Assert.That(config.ToHaNodeOptions().CanCreateReplicaWithoutLeader, Is.False);
    }

    [Test]
    public void AMethodSectionOnlyTheStandbyClusterNamesIsBoundAndUsedForItsClone()
    {
        var config = Load(Head + """

            bootstrap:
              dcs:
                standby_cluster:
                  host: 10.0.0.9
                  port: 5433
                  create_replica_methods: [restore_backup, basebackup]
            postgresql:
              listen: 127.0.0.1:5432
              connect_address: 127.0.0.1:5432
              data_dir: /tmp/x/data
              restore_backup:
                command: /usr/local/bin/restore --latest
                no_leader: true
                label: nightly
            """);
        var options = ComponentOptions.Postgres(config);
        var standby = config.ToGlobalConfig().StandbyCluster!;
        var methods = options.ReplicaMethodsFor(standby);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.EffectiveReplicaMethods.Select(m => m.Name), Is.EqualTo(new[] { "basebackup" }), "ordinary clones keep the local default");
            Assert.That(options.CanCreateReplicaWithoutLeader, Is.False, "the unlisted section does not make an ordinary clone work without a leader");
            Assert.That(methods.Select(m => m.Name), Is.EqualTo(new[] { "restore_backup", "basebackup" }));
            Assert.That((methods[0].Command, methods[0].NoLeader), Is.EqualTo(("/usr/local/bin/restore --latest", true)));
            Assert.That(methods[0].Parameters, Is.EqualTo(new[] { KeyValuePair.Create("label", "nightly") }));
        }
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, options).Failed, Is.False);
    }

    [Test]
    public void TheValidatorNamesBrokenMethodSettings()
    {
        var options = new PostgresControllerOptions
        {
            DataDirectory = "/tmp/x/data", Scope = "demo", MemberName = "node1",
            CreateReplicaMethods = [new ReplicaCreationMethod("restore") { Command = "/bin/restore 'unterminated" }],
            BootstrapMethod = new CustomBootstrapMethod("custom", ""),
        };
        options.RecoveryConf["primary_conninfo"] = "host=x";
        var failures = new PostgresControllerOptionsValidator().Validate(null, options).Failures!.ToList();
        Assert.That(failures, Has.Some.Contains("postgresql.restore.command: no closing quotation: the single quote"));
        Assert.That(failures, Has.Some.Contains("bootstrap.custom.command: the command is empty"));
        Assert.That(failures, Has.Some.Contains("recovery_conf.primary_conninfo is set by PgHa itself"));
    }
}
