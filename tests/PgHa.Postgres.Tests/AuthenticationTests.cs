using Npgsql;
using PgHa.Decisions;

namespace PgHa.Postgres.Tests;

/// <summary>Passwords end to end: initdb --pwfile, pg_hba.conf from the configuration, pg_basebackup and streaming with them.</summary>
public sealed class AuthenticationTests : PgTestBase
{
    private static void Secured(PostgresControllerOptions o)
    {
        o.Superuser = new PostgresCredentials("postgres", "su'per secret");
        o.Replication = new PostgresCredentials("postgres", "su'per secret");
        o.PgHba = ["local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256", "host replication all 127.0.0.1/32 scram-sha-256"];
        o.InitdbOptions = ["auth=scram-sha-256", "no-locale", "no-sync", "no-instructions"];
    }

    [Test]
    public async Task A_password_protected_cluster_is_bootstrapped_cloned_and_streamed_with_inline_and_passfile_passwords()
    {
        var a = Node("node-a", Secured);
        var b = Node("node-b", o =>
        {
            Secured(o);
            o.PgPassFile = Path.Combine(Path.GetDirectoryName(o.DataDirectory)!, "pgpass");
        });
        await a.StartNewPrimaryAsync();
        Assert.That((await a.StatusAsync()).IsRunningPrimary, Is.True, "the agent authenticates with the superuser password");
        Assert.That(File.ReadAllText(Path.Combine(a.Options.DataDirectory, "pg_hba.conf")), Does.Contain("host replication all 127.0.0.1/32 scram-sha-256"));
        Assert.Catch<NpgsqlException>(() => a.Open().Dispose(), "pg_hba.conf from the configuration requires a password");

        await b.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await b.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        var conf = File.ReadAllText(Path.Combine(b.Options.DataDirectory, "postgresql.conf"));
        Assert.That(conf, Does.Contain("passfile=").And.Not.Contain("secret"), "the password lives in the passfile");
        Assert.That(File.ReadAllText(b.Options.PgPassFile), Does.Contain("*:*:*:postgres:su'per secret"));

        // a follows b after a switchover: inline password in primary_conninfo (no passfile configured on a).
        await a.Controller.StopForDemoteAsync(DemoteMode.Graceful, CancellationToken.None);
        await b.ArmFenceAsync(TimeSpan.FromMinutes(5));
        await b.Controller.PromoteAsync(CancellationToken.None);
        await a.Controller.SetWriteFenceAsync(null, CancellationToken.None);
        await b.Controller.SyncReplicationSlotsAsync([a.SlotName], CancellationToken.None);
        await a.Controller.FollowAsync(b.Member, CancellationToken.None);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await a.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        Assert.That(File.ReadAllText(Path.Combine(a.Options.DataDirectory, "postgresql.conf")), Does.Contain(@"password=''su\\''per secret''"));
    }
}
