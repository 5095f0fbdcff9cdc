using PgHa.Dcs;
using PgHa.Samples.FileLeaseDcs;
using PgHa.Testing;

namespace PgHa.Samples.FileLeaseDcs.Tests;

/// <summary>The sample plugin runs PgHa.Testing's whole DCS contract suite, unchanged, on a temporary directory.</summary>
[TestFixture]
public sealed class FileLeaseDcsConformanceTests : DcsConformanceTests
{
    private string _directory = "";

    [OneTimeSetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("pgha-file-dcs-").FullName;

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override Task<IDcs> CreateDcsAsync(string scope, string memberName, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new FileLeaseDcs(new FileLeaseDcsOptions { Directory = _directory, Scope = scope, Name = memberName }, TimeProvider.System));

    protected override Task<IDcs> CreateUnreachableDcsAsync(string scope, string memberName, TimeSpan requestTimeout, CancellationToken cancellationToken) =>
        Task.FromResult<IDcs>(new FileLeaseDcs(new FileLeaseDcsOptions
        {
            Directory = Path.Combine(_directory, "not-mounted"), Scope = scope, Name = memberName, RequestTimeout = requestTimeout,
        }, TimeProvider.System));
}
