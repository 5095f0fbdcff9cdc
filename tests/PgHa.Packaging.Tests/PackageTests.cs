using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace PgHa.Packaging.Tests;

/// <summary>
/// <c>dotnet pack</c> of every shipped package into a local folder, then what a user does: a fresh
/// <c>dotnet new web</c> project referencing PgHa.Core, PgHa.AspNetCore, PgHa.Dcs.Etcd and PgHa.Testing from that folder
/// (and the normal feed for their dependencies) is built and run, serving <c>MapPgHa</c>'s REST API, and the <c>pgha</c>
/// tool is installed from it and run.
/// </summary>
[TestFixture, Category("Packaging")]
public sealed class PackageTests
{
    private static readonly string[] Libraries = ["PgHa.Core", "PgHa.AspNetCore", "PgHa.Dcs.Etcd", "PgHa.Dcs.Consul", "PgHa.Dcs.ZooKeeper", "PgHa.Testing"];

    private string _work = "";
    private string _feed = "";
    // A version of its own per run: the global packages folder caches by id and version.
    private readonly string _version = "0.1.0-ci." + Guid.NewGuid().ToString("N")[..10];

    [OneTimeSetUp]
    public async Task PackEverythingAsync()
    {
        _work = Directory.CreateTempSubdirectory("pgha-pack-").FullName;
        _feed = Path.Combine(_work, "feed");
        var root = RepositoryRoot();
        // The tool first: it builds Core and both adapters, so the libraries after it are incremental.
        foreach (var project in new[] { "src/PgHa.Host" }.Concat(Libraries.Select(l => "src/" + l)))
            await RunAsync(root, "dotnet", "pack", Path.Combine(root, project), "-c", "Release", "-o", _feed, "--nologo", "-p:Version=" + _version);
    }

    [OneTimeTearDown]
    public void DeleteWork()
    {
        if (_work.Length > 0) Directory.Delete(_work, recursive: true);
    }

    [TestCaseSource(nameof(Libraries))]
    public void EachLibraryIsPackedWithDescriptionLicenseReadmeDocsAndSymbols(string id)
    {
        var package = Path.Combine(_feed, $"{id}.{_version}.nupkg");
        Assert.That(File.Exists(package), $"{package} was not produced");
        Assert.That(File.Exists(Path.ChangeExtension(package, ".snupkg")), "the symbols package (snupkg) is missing");
        using var zip = ZipFile.OpenRead(package);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.That(names, Has.Member("README.md"));
        Assert.That(names, Has.Member($"lib/net10.0/{id}.dll"));
        Assert.That(names, Has.Member($"lib/net10.0/{id}.xml"), "XML docs ship with the package");
        using var nuspecStream = zip.GetEntry($"{id}.nuspec")!.Open();
        var nuspec = XDocument.Load(nuspecStream);
        string? Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.That(Meta("version"), Is.EqualTo(_version));
        Assert.That(Meta("description"), Is.Not.Empty.And.Not.EqualTo("Package Description"));
        Assert.That(Meta("license"), Is.EqualTo("MIT"));
        Assert.That(Meta("readme"), Is.EqualTo("README.md"));
    }

    [Test]
    public async Task AFreshWebProjectBuildsAndRunsAgainstThePackages()
    {
        var app = Path.Combine(_work, "consumer");
        await RunAsync(_work, "dotnet", "new", "web", "-o", app, "--framework", "net10.0", "--no-restore");
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{_feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
        var csproj = Path.Combine(app, "consumer.csproj");
        var project = XDocument.Load(csproj);
        project.Root!.Add(new XElement("ItemGroup",
            new XElement("PackageReference", new XAttribute("Include", "PgHa.Core"), new XAttribute("Version", _version)),
            new XElement("PackageReference", new XAttribute("Include", "PgHa.AspNetCore"), new XAttribute("Version", _version)),
            new XElement("PackageReference", new XAttribute("Include", "PgHa.Dcs.Etcd"), new XAttribute("Version", _version)),
            new XElement("PackageReference", new XAttribute("Include", "PgHa.Testing"), new XAttribute("Version", _version))));
        project.Save(csproj);
        // The app serves MapPgHa's REST API on a free port and asks it for /patroni, /restart and /ui before it stops.
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Microsoft.Extensions.Options;
            using PgHa.AspNetCore;
            using PgHa.Dcs.Etcd;
            using PgHa.Hosting;
            using PgHa.Testing;

            // The etcd adapter's options, bound as a node configured for etcd would have them.
            var services = new ServiceCollection();
            services.AddPgHa(Node).UseEtcd(etcd => etcd.Endpoints = ["127.0.0.1:2379"]);
            await using var provider = services.BuildServiceProvider();
            var etcd = provider.GetRequiredService<IOptions<EtcdDcsOptions>>().Value;

            // A web app embedding a node on the in-memory DCS, serving its REST API. It may not bootstrap a cluster, so it
            // waits for a leader and never touches PostgreSQL.
            var builder = WebApplication.CreateBuilder(args);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var store = new InMemoryDcsStore(TimeProvider.System);
            builder.Services.AddPgHa(o => { Node(o); o.CanBootstrap = false; }).UseDcs("in-memory", _ => new InMemoryDcs(store, "service", "shop", "node1"));
            var app = builder.Build();
            app.MapPgHa(security: new RestApiSecurity { Authentication = new RestApiCredentials("admin", "secret") });
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var status = await http.GetAsync("/patroni");
            using var restart = await http.PostAsync("/restart", null);
            var ui = await http.GetStringAsync("/ui");
            Console.WriteLine($"scope={etcd.Scope} endpoints={string.Join(",", etcd.Endpoints)} patroni={(int)status.StatusCode} " +
                              $"restart={(int)restart.StatusCode} ui={ui.Contains("<title>PgHa cluster</title>")}");
            await app.StopAsync();

            static void Node(PgHaOptions o)
            {
                o.Scope = "shop";
                o.Name = "node1";
                o.ApiUrl = "http://127.0.0.1:8008/patroni";
                o.PostgresConnectAddress = "127.0.0.1:5432";
                o.Postgres.DataDirectory = Path.Combine(AppContext.BaseDirectory, "not-bootstrapped"); // private to this run
            }
            """);
        var output = await RunAsync(app, "dotnet", "run", "-c", "Release", "--nologo");
        // /patroni answers (200 or 503 while PostgreSQL is not running), the unsafe /restart asks for credentials, /ui is the dashboard.
        Assert.That(output, Does.Match(@"scope=shop endpoints=127\.0\.0\.1:2379 patroni=(200|503) restart=401 ui=True"));
    }

    [Test]
    public async Task ThePghaToolInstallsFromTheFolderAndRuns()
    {
        var package = Path.Combine(_feed, $"PgHa.Tool.{_version}.nupkg");
        Assert.That(File.Exists(package), $"{package} was not produced");
        var tools = Path.Combine(_work, "tools");
        await RunAsync(_work, "dotnet", "tool", "install", "PgHa.Tool", "--version", _version, "--tool-path", tools, "--add-source", _feed);
        var output = await RunAsync(_work, Path.Combine(tools, "pgha"), "--help");
        Assert.That(output, Does.Contain("Usage:").And.Contain("pgha [command] [options]").And.Contain("run <CONFIG>"));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PgHa.sln"))) return dir.FullName;
        throw new InvalidOperationException("PgHa.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> RunAsync(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        if (process.ExitCode != 0) Assert.Fail($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        return output;
    }
}
