using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using PgHa.Dcs;
using PgHa.Testing;

namespace PgHa.Core.Tests.Dcs;

/// <summary>The conformance suite against <see cref="InMemoryDcs"/>, on a fake clock so the expiry tests take no real time.</summary>
[TestFixture]
public sealed class InMemoryDcsConformanceTests : DcsConformanceTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryDcsStore _store;

    public InMemoryDcsConformanceTests() => _store = new InMemoryDcsStore(_time);

    protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new InMemoryDcs(_store, "service", scope, memberName));

    protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new InMemoryDcs(_store, "service", scope, memberName) { Reachable = false });

    protected override Task ElapseAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    // All tests share one store, as fixtures of a real adapter share one server; the suite's cleanup must leave it empty.
    [OneTimeTearDown]
    public void EveryScopeWasDeleted() => Assert.That(_store.ReadAll("/"), Is.Empty);
}
