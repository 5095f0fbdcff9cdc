namespace PgHa.Postgres.Tests;

/// <summary>
/// <c>authentication.*</c> SSL options reach the real tools: a replica that requires SSL refuses a server without it
/// instead of silently falling back to a plain connection (they were once dropped for <c>sslmode=prefer</c>).
/// </summary>
public sealed class ConnectionOptionsTests : PgTestBase
{
    [Test]
    public async Task Sslmode_require_against_a_server_without_ssl_fails_and_disable_streams()
    {
        // The superuser's sslmode reaches the agent's own connections; over the Unix socket, as in libpq, it does not
        // stop the agent from working.
        // post_bootstrap gets them as URI query parameters, which psql (libpq) accepts.
        var marker = "";
        var a = Node("node-a", o =>
        {
            o.Superuser = new PostgresCredentials("postgres", null, new PostgresConnectionParameters { SslMode = "require", ChannelBinding = "prefer" });
            var script = Path.Combine(Path.GetDirectoryName(o.DataDirectory)!, "post-bootstrap.sh");
            marker = script + ".out";
            File.WriteAllText(script, $"#!/bin/sh\necho \"$1\" > '{marker}'\n'{Path.Combine(PgTestEnvironment.BinDirectory, "psql")}' \"$1\" -Atc 'SELECT 42' >> '{marker}'\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            o.PostBootstrap = script;
        });
        await a.StartNewPrimaryAsync();
        Assert.That((await a.StatusAsync()).IsRunningPrimary, Is.True);
        var lines = File.ReadAllLines(marker);
        Assert.That(lines, Has.Length.EqualTo(2), string.Join('\n', lines));
        Assert.That(lines[0], Does.EndWith("/postgres?sslmode=require&channel_binding=prefer"));
        Assert.That(lines[1], Is.EqualTo("42"));

        var strict = Node("node-b", o => o.Replication = new PostgresCredentials("postgres", null, new PostgresConnectionParameters { SslMode = "require" }));
        Assert.ThrowsAsync<InvalidOperationException>(() => strict.Controller.CreateReplicaAsync(a.Member, CancellationToken.None));
        var log = string.Join('\n', strict.Logger.Collector.GetSnapshot().Select(r => r.Message));
        Assert.That(log, Does.Contain("SSL"), "pg_basebackup was told to require SSL:\n" + log);

        // The rewind user's options reach the agent's upstream connection: requiring SSL, the divergence check cannot
        // connect (and says so), while streaming with the replication user's sslmode=disable goes ahead.
        var plain = Node("node-c", o =>
        {
            o.Replication = new PostgresCredentials("postgres", null, new PostgresConnectionParameters { SslMode = "disable", GssEncMode = "disable" });
            o.Rewind = new PostgresCredentials("postgres", null, new PostgresConnectionParameters { SslMode = "require" });
        });
        await plain.StartReplicaOfAsync(a);
        Assert.That(await PgNode.WaitUntilAsync(async () => (await plain.StatusAsync()).IsStreaming, TimeSpan.FromSeconds(20)), Is.True);
        // The first follow after its own pg_basebackup skips the check; following again does it.
        await plain.Controller.FollowAsync(a.Member, CancellationToken.None);
        var unknown = plain.Logger.Collector.GetSnapshot().Where(r => r.Id.Id == PostgresEventId.DivergenceUnknown).Select(r => r.Message).ToList();
        Assert.That(unknown, Has.Some.Contains("SSL"), "the upstream check used the rewind user's sslmode=require");
        var conf = File.ReadAllText(Path.Combine(plain.Options.DataDirectory, "postgresql.conf"));
        Assert.That(conf, Does.Contain("sslmode=disable").And.Contain("gssencmode=disable").And.Contain("channel_binding=prefer"));
    }
}
