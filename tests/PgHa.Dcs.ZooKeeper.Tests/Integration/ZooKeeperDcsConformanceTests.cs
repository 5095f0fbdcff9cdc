using PgHa.Dcs.ZooKeeper.Client;
using PgHa.Testing;

namespace PgHa.Dcs.ZooKeeper.Tests.Integration;

/// <summary>
/// The <see cref="IDcs"/> conformance suite against a real ZooKeeper 3.8. The suite's TTL (4 s) is the session timeout;
/// the server (tickTime 1 s) expires a session at the first tick after its timeout, so an unrenewed key vanishes
/// within ttl + 1 s; the slack leaves room for that and the deletion's delivery.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class ZooKeeperDcsConformanceTests : DcsConformanceTests
{
    private readonly int _closedPort = ZooKeeperServer.FreePort();

    protected override TimeSpan ExpirySlack => TimeSpan.FromSeconds(3);

    protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new ZooKeeperDcs(ZooKeeperTestEnvironment.Options(scope, memberName), TimeProvider.System));

    protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var options = ZooKeeperTestEnvironment.Options(scope, memberName, requestTimeout);
        options.Hosts = [$"127.0.0.1:{_closedPort}"];
        return Task.FromResult<IDcs>(new ZooKeeperDcs(options, TimeProvider.System));
    }

    // All tests share one server; the suite's cleanup must leave no znode of theirs behind.
    [OneTimeTearDown]
    public async Task NoTestScopeIsLeftAsync()
    {
        await using var client = ZooKeeperTestEnvironment.Client();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), TimeProvider.System);
        var stat = await client.ExistsAsync("/service", watch: false, timeout.Token);
        if (stat is null) return;
        var (children, _) = await client.GetChildrenAsync("/service", watch: false, timeout.Token);
        Assert.That(children.Where(c => c.StartsWith("pgha-test-", StringComparison.Ordinal)), Is.Empty);
    }
}
