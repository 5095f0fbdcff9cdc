using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>A configuration directory: *.yml and *.yaml files merged in sorted order with Patroni's patch_config.</summary>
public sealed class DirectoryMergeTests : ConfigTestBase
{
    [Test]
    public void Files_merge_in_sorted_name_order_later_files_win_and_null_removes()
    {
        // Written out of order on purpose: the merge follows the names, not the creation order.
        WriteFile("30-tags.yaml", "tags:\n  dc: west\n");
        WriteFile("10-base.yml", BaseYaml + "\nlog:\n  level: DEBUG\n  dir: /var/log/pgha\ntags:\n  dc: east\n  rack: r1\n");
        WriteFile("20-node.yml", """
            name: node2
            postgresql:
              connect_address: 10.0.0.2:5432
              parameters:
                work_mem: 8MB
            log:
              dir: null
            """);
        WriteFile("99-notes.txt", "this: is not yaml config: [");
        WriteFile("15-later.yml.bak", "name: never");

        var result = PgHaConfigLoader.Load(TempDir, new Dictionary<string, string>());
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "10-base.yml", "20-node.yml", "30-tags.yaml" }));
        var c = result.Config!;
        Assert.Multiple(() =>
        {
            Assert.That(c.Name, Is.EqualTo("node2"));
            Assert.That(c.Postgresql.ConnectAddress, Is.EqualTo(new HostPort("10.0.0.2", 5432)));
            Assert.That(c.Postgresql.DataDir, Is.EqualTo("/var/lib/postgresql/data"), "nested mappings merge; untouched keys stay");
            Assert.That(c.Postgresql.Parameters.Keys, Is.EqualTo(new[] { "max_wal_size", "work_mem" }));
            Assert.That(c.Log.Level, Is.EqualTo("DEBUG"));
            Assert.That(c.Log.Dir, Is.Null, "a null value removes the key");
            Assert.That(c.Tags.Entries.Select(e => $"{e.Key}={e.Value}"), Is.EqualTo(new[] { "dc=\"west\"", "rack=\"r1\"" }), "replaced values keep their position");
        });
    }

    [Test]
    public void Errors_name_the_file_and_line_they_come_from()
    {
        WriteFile("a.yml", BaseYaml);
        WriteFile("b.yml", "postgresql:\n  paramters: {}\n");
        var result = PgHaConfigLoader.Load(TempDir, new Dictionary<string, string>());
        var error = result.Errors.Single();
        Assert.That(error.ToString(), Is.EqualTo($"{Path.Combine(TempDir, "b.yml")}:2: postgresql.paramters: unknown setting (did you mean 'parameters'?)"));
    }

    [Test]
    public void Syntax_errors_in_several_files_are_all_reported()
    {
        WriteFile("a.yml", "scope: [x\n");
        WriteFile("b.yml", "name: {y\n");
        var result = PgHaConfigLoader.Load(TempDir, new Dictionary<string, string>());
        Assert.That(result.Errors.Select(e => Path.GetFileName(e.Source!.Origin)), Is.EqualTo(new[] { "a.yml", "b.yml" }));
        Assert.That(result.Errors.All(e => e.Problem.StartsWith("YAML syntax error at line", StringComparison.Ordinal)));
    }

    [Test]
    public void Directory_without_yaml_files_is_an_error()
    {
        WriteFile("readme.txt", "nothing");
        var result = PgHaConfigLoader.Load(TempDir, new Dictionary<string, string>());
        Assert.That(result.Errors.Single().Problem, Is.EqualTo("the directory has no *.yml or *.yaml file"));
    }
}
