using System.Text.RegularExpressions;
using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>
/// The YAML that scripts/capture-patroni-fixtures.sh feeds a real Patroni 3.0.2 (extracted from the script itself)
/// loads unchanged, and what PgHa derives from it equals what that Patroni wrote into etcd.
/// </summary>
public sealed partial class PatroniFixtureConfigTests : ConfigTestBase
{
    private static string FixtureDir => Path.Combine(RepoRoot(), "tests/PgHa.Core.Tests/Fixtures/patroni-3.0.2/etcd3");

    /// <summary>The heredoc of write_cfg() with the script's variables filled in for node <paramref name="index"/>.</summary>
    private static string CaptureScriptYaml(int index, string tags)
    {
        var script = File.ReadAllText(Path.Combine(RepoRoot(), "scripts/capture-patroni-fixtures.sh"));
        var match = HeredocPattern().Match(script);
        Assert.That(match.Success, "write_cfg heredoc not found in capture-patroni-fixtures.sh");
        var dir = $"/tmp/pgha-patroni-fixtures.XXXX/node{index + 1}";
        var vars = new Dictionary<string, string>
        {
            ["$SCOPE"] = "batman",
            ["$NAMESPACE"] = "/service",
            ["$n"] = $"node{index + 1}",
            ["${REST_PORTS[$i]}"] = (18101 + index).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["${PG_PORTS[$i]}"] = (25441 + index).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["$ETCD_CLIENT_PORT"] = "23791",
            ["$PG_BIN"] = "/usr/lib/postgresql/15/bin",
            ["$dir"] = dir,
            ["$tags"] = tags,
        };
        var yaml = match.Groups[1].Value;
        foreach (var (k, v) in vars.OrderByDescending(kv => kv.Key.Length)) yaml = yaml.Replace(k, v, StringComparison.Ordinal);
        Assert.That(yaml, Does.Not.Contain("$"), "a shell variable of the heredoc was not substituted");
        return yaml;
    }

    [GeneratedRegex(@"cat > ""\$dir/patroni\.yml\.new"" <<EOF\n(.*?)\nEOF\n", RegexOptions.Singleline)]
    private static partial Regex HeredocPattern();

    [Test]
    public void Capture_script_yaml_loads_without_errors_or_warnings()
    {
        var result = LoadYaml(CaptureScriptYaml(0, ""));
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Warnings, Is.Empty);
        var c = result.Config!;
        Assert.Multiple(() =>
        {
            Assert.That(c.Scope, Is.EqualTo("batman"));
            Assert.That(c.Namespace, Is.EqualTo("/service"));
            Assert.That(c.ClusterPrefix, Is.EqualTo("/service/batman/"));
            Assert.That(c.Name, Is.EqualTo("node1"));
            Assert.That(c.Log.Level, Is.EqualTo("INFO"));
            Assert.That(c.RestApi.Listen, Is.EqualTo(new HostPort("127.0.0.1", 18101)));
            Assert.That(c.Dcs, Is.TypeOf<EtcdConfig>());
            var etcd = (EtcdConfig)c.Dcs;
            Assert.That(etcd.Kind, Is.EqualTo("etcd3"));
            Assert.That(etcd.Endpoints, Is.EqualTo(new[] { "http://127.0.0.1:23791" }));
            Assert.That(c.Bootstrap.Dcs.Postgresql.UsePgRewind, Is.True);
            Assert.That(c.Bootstrap.Dcs.Postgresql.Parameters["fsync"], Is.EqualTo(new ScalarValue(ScalarValueKind.Boolean, "false", "false")));
            Assert.That(c.Bootstrap.Initdb.Select(o => o.ToArgument()), Is.EqualTo(new[] { "--encoding=UTF8", "--data-checksums" }));
            Assert.That(c.Postgresql.Listen, Is.EqualTo(new HostPort("127.0.0.1", 25441)));
            Assert.That(c.Postgresql.DataDir, Is.EqualTo("/tmp/pgha-patroni-fixtures.XXXX/node1/data"));
            Assert.That(c.Postgresql.BinDir, Is.EqualTo("/usr/lib/postgresql/15/bin"));
            Assert.That(c.Postgresql.Authentication.Superuser.Username, Is.EqualTo("postgres"));
            Assert.That(c.Postgresql.Authentication.Superuser.Password!.Reveal(), Is.EqualTo("supersecret"));
            Assert.That(c.Postgresql.Authentication.Replication.Username, Is.EqualTo("replicator"));
            Assert.That(c.Postgresql.Parameters["fsync"].ToPostgresValue(), Is.EqualTo("off"));
            Assert.That(c.Postgresql.Parameters["unix_socket_directories"].Text, Is.EqualTo("/tmp/pgha-patroni-fixtures.XXXX/node1"));
            Assert.That(c.Postgresql.PgHba, Has.Length.EqualTo(3));
            Assert.That(c.Watchdog.Mode, Is.EqualTo(WatchdogMode.Off), "PyYAML reads 'mode: off' as false, which Patroni takes as off");
            Assert.That(c.Tags.Entries, Is.Empty);
        });
    }

    [Test]
    public void Bootstrap_dcs_json_is_byte_identical_to_the_config_key_Patroni_wrote()
    {
        var c = LoadValid(CaptureScriptYaml(0, ""));
        var written = File.ReadAllText(Path.Combine(FixtureDir, "bootstrapped/config"));
        Assert.That(c.Bootstrap.Dcs.RawJson, Is.EqualTo(written));
        var global = c.ToGlobalConfig();
        Assert.Multiple(() =>
        {
            Assert.That(global.RawJson, Is.EqualTo(written));
            Assert.That(PgHa.Cluster.Serialization.ConfigCodec.Serialize(global), Is.EqualTo(written));
            Assert.That(global.Ttl, Is.EqualTo(30));
            Assert.That(global.UsePgRewind, Is.True);
        });
    }

    [TestCase(0), TestCase(1), TestCase(2)]
    public void Identity_equals_the_member_key_Patroni_published(int index)
    {
        var c = LoadValid(CaptureScriptYaml(index, ""));
        var member = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDir, $"bootstrapped/members__node{index + 1}")))!;
        var options = c.ToHaNodeOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.Identity.Name, Is.EqualTo($"node{index + 1}"));
            Assert.That(options.Identity.ConnUrl, Is.EqualTo((string?)member["conn_url"]));
            Assert.That(options.Identity.ApiUrl, Is.EqualTo((string?)member["api_url"]));
        });
    }

    [Test]
    public void Tags_published_equal_what_Patroni_published()
    {
        var node1 = LoadValid(CaptureScriptYaml(0, "tags:\n  nofailover: false\n  clonefrom: true\n  custom_tag: x"));
        var node3 = LoadValid(CaptureScriptYaml(2, "tags:\n  nofailover: true"));
        string Published(string member) => System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDir, "tags", member)))!["tags"]!.ToJsonString();
        static string Json(PgHa.Cluster.MemberTags tags) => "{" + string.Join(",", tags.Entries.Select(e => $"\"{e.Key}\":{e.Value}")) + "}";
        Assert.Multiple(() =>
        {
            Assert.That(Json(node1.Tags), Is.EqualTo(Published("members__node1")));
            Assert.That(Json(node3.Tags), Is.EqualTo(Published("members__node3")));
            Assert.That(node1.Tags.NoFailover, Is.False);
            Assert.That(node3.Tags.NoFailover, Is.True);
        });
    }
}
