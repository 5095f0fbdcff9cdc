using PgHa.Cluster.Serialization;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Tests.Configuration;

/// <summary>YAML is read as Patroni's PyYAML safe_load reads it (YAML 1.1), so bootstrap.dcs JSON is what Patroni writes.</summary>
public sealed class YamlResolutionTests
{
    [Test]
    public void Scalars_anchors_merges_and_duplicates_resolve_like_PyYAML()
    {
        const string yaml = """
            dcs:
              ttl: 30
              loop_wait: 0x0a
              retry_timeout: 010
              maximum_lag_on_failover: 1_048_576
              master_start_timeout: 5:00
              synchronous_mode: on
              failsafe_mode: "off"
              check_timeline: No
              postgresql:
                use_pg_rewind: yes
                parameters: &params
                  fsync: off
                  shared_buffers: 128MB
                  random_page_cost: 1.10
                  seq_page_cost: .5
                  effective_io_concurrency: 1e3
                  cpu_tuple_cost: 1.0e+3
                  work_mem: ~
                  search_path: '"$user", public'
                  application_name: "héllo ✓ 🐘"
                  huge: 123456789012345678901234567890
                  sexa: 1:30.5
                  neg: -0b101
                recovery_conf:
                  <<: *params
                  fsync: true
              slots:
                s1: {type: logical, database: db, plugin: pgoutput}
              ignore_slots:
              - {name: x}
              dup: 1
              dup: 2
            """;
        // Expected: python3 -c 'import yaml,json; print(json.dumps(yaml.safe_load(doc)["dcs"], separators=(",", ":")))'
        const string expected = """{"ttl":30,"loop_wait":10,"retry_timeout":8,"maximum_lag_on_failover":1048576,"master_start_timeout":300,"synchronous_mode":true,"failsafe_mode":"off","check_timeline":false,"postgresql":{"use_pg_rewind":true,"parameters":{"fsync":false,"shared_buffers":"128MB","random_page_cost":1.1,"seq_page_cost":0.5,"effective_io_concurrency":"1e3","cpu_tuple_cost":1000.0,"work_mem":null,"search_path":"\"$user\", public","application_name":"h\u00e9llo \u2713 \ud83d\udc18","huge":123456789012345678901234567890,"sexa":90.5,"neg":-5},"recovery_conf":{"fsync":true,"shared_buffers":"128MB","random_page_cost":1.1,"seq_page_cost":0.5,"effective_io_concurrency":"1e3","cpu_tuple_cost":1000.0,"work_mem":null,"search_path":"\"$user\", public","application_name":"h\u00e9llo \u2713 \ud83d\udc18","huge":123456789012345678901234567890,"sexa":90.5,"neg":-5}},"slots":{"s1":{"type":"logical","database":"db","plugin":"pgoutput"}},"ignore_slots":[{"name":"x"}],"dup":2}""";
        var root = (ConfigMap)YamlTreeReader.Read(yaml, "t.yml", out var error)!;
        Assert.That(error, Is.Null);
        Assert.That(PatroniJson.Serialize(root["dcs"]!.ToJson()), Is.EqualTo(expected));
    }

    [TestCase("!!str 10", "\"10\"")]
    [TestCase("!!int \"12\"", "12")]
    [TestCase("'yes'", "\"yes\"")]
    [TestCase("Off", "false")]
    [TestCase("NULL", "null")]
    [TestCase("", "null")]
    [TestCase("0o17", "\"0o17\"")]
    [TestCase("+12", "12")]
    [TestCase("-.inf", "-Infinity")]
    [TestCase("1.", "1.0")]
    [TestCase("2001-12-14", "\"2001-12-14\"")]
    [TestCase("|\n  two\n  lines", "\"two\\nlines\\n\"")]
    public void Single_values(string yamlValue, string json)
    {
        var root = (ConfigMap)YamlTreeReader.Read("v: " + yamlValue + "\n", "t.yml", out var error)!;
        Assert.That(error, Is.Null);
        Assert.That(PatroniJson.Serialize(root["v"]!.ToJson()), Is.EqualTo(json));
    }

    [Test]
    public void Syntax_error_reports_line_and_column()
    {
        YamlTreeReader.Read("a: 1\nb: [1,\nc: 3\n", "t.yml", out var error);
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.Source!.Origin, Is.EqualTo("t.yml"));
        Assert.That(error.Source.Line, Is.GreaterThanOrEqualTo(2));
        Assert.That(error.Problem, Does.StartWith("YAML syntax error"));
        Assert.That(error.Problem, Does.Contain($"line {error.Source.Line}, column {error.Source.Column}: "));
    }

    [Test]
    public void Unknown_alias_is_an_error()
    {
        YamlTreeReader.Read("a: *nope\n", "t.yml", out var error);
        Assert.That(error!.ToString(), Does.Contain("nope"));
    }
}
