using PgHa.Cluster;
using PgHa.Host.Configuration;
using PgHa.Host.Tests.Rest;

namespace PgHa.Host.Tests.Ctl;

/// <summary><c>pgha ctl</c> against a running PgHa REST API: basic auth from the <c>ctl</c> section and bodies the server understands.</summary>
[TestFixture]
public sealed class RealRestTests
{
    private static readonly RestApiConfig Secured = new()
    {
        Listen = new HostPort("127.0.0.1", 8008),
        ConnectAddress = new HostPort("127.0.0.1", 8008),
        Authentication = new BasicAuthentication("admin", new Secret("s3cret")),
    };

    private static string Config(string password) => $"scope: batman\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:1\nctl:\n  authentication:\n    username: admin\n    password: {password}\n";

    private static async Task<RestFixture> StartAsync()
    {
        var f = await RestFixture.StartAsync(Secured);
        // node1 (the leader) publishes the address the test server really listens on.
        await f.Nodes[0].TouchMemberAsync(new Member("node1")
        {
            ConnUrl = "postgres://127.0.0.1:5432/postgres", ApiUrl = new Uri(f.Client.BaseAddress!, "patroni").ToString(), State = "running",
            Role = MemberRole.Primary, AgentVersion = "3.0.2", XlogLocation = RestTestNodes.LeaderOptime, Timeline = 2,
        }, TimeSpan.FromSeconds(30), CancellationToken.None);
        return f;
    }

    [Test]
    public async Task PauseAndResumeGoThroughPatchConfigWithTheCtlCredentials()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config("s3cret"), f.Store) { UseHttp = true };
        var (exit, output, error, _) = harness.Run(["pause"]);
        Assert.That((exit, output), Is.EqualTo((0, "Success: cluster management is paused\n")), error);
        Assert.That(harness.Key("config"), Does.Contain("\"pause\":true"));

        var (exit2, output2, _, _) = harness.Run(["resume"]);
        Assert.That((exit2, output2), Is.EqualTo((0, "Success: cluster management is resumed\n")));
        Assert.That(harness.Key("config"), Does.Not.Contain("pause"));
    }

    [Test]
    public async Task AWrongPasswordIsReportedWithTheServersAnswer()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config("wrong"), f.Store) { UseHttp = true };
        var before = harness.Key("config");
        var (exit, output, _, _) = harness.Run(["pause"]);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(output, Does.StartWith("Failed: pause cluster management status code=401, ("));
            Assert.That(harness.Key("config"), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task ScheduledSwitchoverThenFlushThroughTheLeader()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config("s3cret"), f.Store) { UseHttp = true };
        var at = TimeProvider.System.GetUtcNow().AddHours(2).ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", System.Globalization.CultureInfo.InvariantCulture);
        var (exit, output, error, _) = harness.Run(["switchover", "--candidate", "node2", "--scheduled", at, "--force"]);
        Assert.That(exit, Is.Zero, output + error);
        Assert.That(harness.Key("failover"), Is.EqualTo($$"""{"leader":"node1","member":"node2","scheduled_at":"{{at}}"}"""));
        Assert.That(output, Does.Contain($"Switchover scheduled at: {at}\n"), "the table after the request shows the schedule");

        var (exit2, output2, _, _) = harness.Run(["flush", "batman", "switchover"]);
        Assert.That((exit2, output2), Is.EqualTo((0, "Success: scheduled switchover deleted\n")));
        Assert.That(harness.Key("failover"), Is.EqualTo("{}"));
    }

    [Test]
    public async Task RestartSendsConditionsTheServerUnderstands()
    {
        await using var f = await StartAsync();
        using var harness = new CtlHarness(Config("s3cret"), f.Store) { UseHttp = true };
        var (exit, output, error, _) = harness.Run(["restart", "batman", "node1", "--pending", "--pg-version", "99.1", "--timeout", "30", "--force"]);
        Assert.That((exit, output.Split('\n')[^2]), Is.EqualTo((0, "Success: restart on member node1")), output + error);
        var request = f.Operations.Restarts.Single();
        Assert.That((request.RestartPending, request.PostgresVersionText, request.Timeout), Is.EqualTo((true, (string?)"99.1", (TimeSpan?)TimeSpan.FromSeconds(30))));
    }
}
