using PgHa.Testing;

namespace PgHa.Dcs.Consul.Tests;

/// <summary>
/// The <see cref="IDcs"/> conformance suite against the Consul API test server. Ttl is 5 s: sessions of 2.5 s (the
/// server's minimum is lowered to 1 s for these tests), invalidated 5 s after the last renewal — the suite's default
/// expiry slack covers the rest.
/// </summary>
[TestFixture]
public sealed class ConsulDcsConformanceTests : DcsConformanceTests
{
    private readonly int _closedPort = ConsulTestEnvironment.FreePort();

    protected override TimeSpan Ttl => TimeSpan.FromSeconds(5);

    protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new ConsulDcs(ConsulTestEnvironment.Options(scope, memberName), TimeProvider.System));

    protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new ConsulDcs(
            ConsulTestEnvironment.Options(scope, memberName, requestTimeout, new Uri($"http://127.0.0.1:{_closedPort}")), TimeProvider.System));

    // All tests share one server; the suite's cleanup must leave no key of theirs behind.
    [OneTimeTearDown]
    public void NoTestScopeIsLeft() =>
        Assert.That(ConsulTestEnvironment.Shared.Store.Read("service/pgha-test-", recurse: true).Entries.Select(e => e.Key), Is.Empty);
}
