using PgHa.Testing;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// The <see cref="IDcs"/> conformance suite against a real etcd. The suite's default TTL (4 s) is above etcd's minimum
/// lease TTL (1.5 × the 1 s election timeout, rounded up to 2 s), and etcd revokes an expired lease within about half a
/// second, well inside the default expiry slack — so neither is overridden.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdDcsConformanceTests : DcsConformanceTests
{
    // A port taken from the OS and released: nothing listens there, so connecting is refused at once.
    private readonly int _closedPort = EtcdServer.FreePort();

    protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new EtcdDcs(EtcdTestEnvironment.Options(scope, memberName), TimeProvider.System));

    protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var options = EtcdTestEnvironment.Options(scope, memberName, requestTimeout: requestTimeout);
        options.Endpoints = [$"127.0.0.1:{_closedPort}"];
        return Task.FromResult<IDcs>(new EtcdDcs(options, TimeProvider.System));
    }

    // All tests share one server; the suite's cleanup must leave no key of theirs behind.
    [OneTimeTearDown]
    public async Task NoTestScopeIsLeftAsync() =>
        Assert.That((await EtcdTestEnvironment.Shared.RangeAsync("/service/pgha-test-")).Select(kv => kv.Key), Is.Empty);
}
