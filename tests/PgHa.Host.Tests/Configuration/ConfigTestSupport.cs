using System.Collections;
using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>Writes YAML to a private temporary directory and loads it.</summary>
public abstract class ConfigTestBase
{
    private string? _dir;

    /// <summary>A fresh temporary directory for this test.</summary>
    protected string TempDir => _dir ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "pgha-config-" + Guid.NewGuid().ToString("N"))).FullName;

    [TearDown]
    public void RemoveTempDir()
    {
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        _dir = null;
    }

    protected string WriteFile(string name, string yaml)
    {
        var path = Path.Combine(TempDir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    protected ConfigLoadResult LoadYaml(string yaml, IDictionary? env = null) =>
        PgHaConfigLoader.Load(WriteFile("patroni.yml", yaml), env ?? new Dictionary<string, string>());

    protected PgHaConfig LoadValid(string yaml, IDictionary? env = null)
    {
        var result = LoadYaml(yaml, env);
        Assert.That(result.Errors, Is.Empty, () => "unexpected errors:\n" + result.FormatErrors());
        return result.Config!;
    }

    /// <summary>A small valid configuration that the bad-config and environment tables modify.</summary>
    public const string BaseYaml = """
        scope: batman
        name: node1
        restapi:
          listen: 0.0.0.0:8008
          connect_address: 10.0.0.1:8008
        etcd3:
          hosts: 10.0.0.10:2379,10.0.0.11:2379
        bootstrap:
          dcs:
            ttl: 30
            loop_wait: 10
            retry_timeout: 10
          initdb:
          - encoding: UTF8
          - data-checksums
        postgresql:
          listen: 0.0.0.0:5432
          connect_address: 10.0.0.1:5432
          data_dir: /var/lib/postgresql/data
          authentication:
            superuser:
              username: postgres
              password: s3cr3t-super
          parameters:
            max_wal_size: 1GB
        watchdog:
          mode: off
        """;

    /// <summary>The repository root (the directory holding PgHa.sln).</summary>
    protected static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PgHa.sln"))) return dir.FullName;
        throw new InvalidOperationException("PgHa.sln not found above " + TestContext.CurrentContext.TestDirectory);
    }
}
