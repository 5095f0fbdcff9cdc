using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>Each broken configuration gives exactly one error naming the full key path, with where it was written.</summary>
public sealed class BadConfigTests : ConfigTestBase
{
    /// <param name="Name">Test name.</param>
    /// <param name="Find">Text of <see cref="ConfigTestBase.BaseYaml"/> to replace ("" appends).</param>
    /// <param name="Replace">Replacement.</param>
    /// <param name="Path">Expected key path of the single error.</param>
    /// <param name="Problem">Expected text in the problem.</param>
    /// <param name="Line">Expected line of the source (0: do not check).</param>
    public sealed record Case(string Name, string Find, string Replace, string Path, string Problem, int Line = 0)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<TestCaseData> Cases() => new Case[]
    {
        new("unknown key with suggestion", "  parameters:\n    max_wal_size", "  paramters:\n    max_wal_size",
            "postgresql.paramters", "unknown setting (did you mean 'parameters'?)", 24),
        new("unknown top-level key with suggestion", "watchdog:", "watchdgo:", "watchdgo", "unknown setting (did you mean 'watchdog'?)", 26),
        new("unknown key without a close match", "  data_dir: /var/lib/postgresql/data", "  data_dir: /var/lib/postgresql/data\n  frobnicate: 1",
            "postgresql.frobnicate", "unknown setting", 20),
        new("wrong type: integer", "    loop_wait: 10", "    loop_wait: ten", "bootstrap.dcs.loop_wait", "expected an integer, found 'ten'", 11),
        new("wrong type: mapping instead of scalar", "name: node1", "name: {first: node1}", "name", "expected a string, found a mapping", 2),
        new("wrong type: boolean where a string is expected", "name: node1", "name: yes", "name", "expected a string, found a boolean ('yes'); quote the value", 2),
        new("wrong type: section is a scalar", "watchdog:\n  mode: off", "watchdog: off", "watchdog", "expected a mapping of settings, found 'off'", 26),
        new("bad host:port", "  listen: 0.0.0.0:8008", "  listen: 8008x", "restapi.listen", "'8008x' is not host:port", 4),
        new("bad port number", "  connect_address: 10.0.0.1:5432", "  connect_address: 10.0.0.1:99999", "postgresql.connect_address", "'10.0.0.1:99999' is not host:port", 18),
        new("bad DCS endpoint", "hosts: 10.0.0.10:2379,10.0.0.11:2379", "hosts: 10.0.0.10:2379,10.0.0.11:23x79", "etcd3.hosts", "'10.0.0.11:23x79' is not host:port", 7),
        new("two DCS sections", "bootstrap:", "consul:\n  host: 10.0.0.20:8500\nbootstrap:", "consul", "more than one DCS section: etcd3", 8),
        new("no DCS section", "etcd3:\n  hosts: 10.0.0.10:2379,10.0.0.11:2379\n", "", "", "no DCS section: exactly one of etcd3, etcd, zookeeper or consul is required"),
        new("DCS section without endpoints", "  hosts: 10.0.0.10:2379,10.0.0.11:2379", "  protocol: http", "etcd3", "one of host, hosts or url is required", 6),
        new("unsupported DCS", "etcd3:\n  hosts: 10.0.0.10:2379,10.0.0.11:2379", "kubernetes:\n  namespace: default", "kubernetes", "not supported by PgHa", 6),
        new("unsupported section", "watchdog:", "citus:\n  group: 0\n  database: citus\nwatchdog:", "citus", "not supported by PgHa", 26),
        new("unsupported setting", "  hosts: 10.0.0.10:2379,10.0.0.11:2379", "  srv: etcd.local", "etcd3.srv", "not supported by PgHa", 7),
        new("missing name", "name: node1\n", "", "name", "required setting is missing"),
        new("missing scope", "scope: batman\n", "", "scope", "required setting is missing"),
        new("missing data_dir", "  data_dir: /var/lib/postgresql/data\n", "", "postgresql.data_dir", "required setting is missing", 16),
        new("missing restapi", "restapi:\n  listen: 0.0.0.0:8008\n  connect_address: 10.0.0.1:8008\n", "", "restapi", "required section is missing"),
        new("empty name", "name: node1", "name: ''", "name", "must not be empty", 2),
        new("negative ttl", "    ttl: 30", "    ttl: -5", "bootstrap.dcs.ttl", "must be positive, found -5", 10),
        new("timing rule", "    ttl: 30", "    ttl: 25", "bootstrap.dcs", "loop_wait + 2*retry_timeout must not exceed ttl: 10 + 2*10 > 25", 9),
        new("fence margin too large", "watchdog:", "pgha:\n  fence_safety_margin: 20\nwatchdog:", "pgha.fence_safety_margin", "less than ttl - loop_wait (20 s)"),
        new("unknown pgha setting", "watchdog:", "pgha:\n  fence_safty_margin: 2\nwatchdog:", "pgha.fence_safty_margin", "unknown setting (did you mean 'fence_safety_margin'?)", 27),
        new("bad watchdog mode", "  mode: off", "  mode: sometimes", "watchdog.mode", "must be off, automatic or required; found 'sometimes'", 27),
        new("bad initdb item: list", "  - data-checksums", "  - [data-checksums]", "bootstrap.initdb[1]", "expected an option name (- data-checksums) or a single key: value (- encoding: UTF8), found a list", 15),
        new("bad initdb item: two keys", "  - encoding: UTF8", "  - {encoding: UTF8, locale: C}", "bootstrap.initdb[0]", "found a mapping with 2 keys", 14),
        new("forbidden initdb option", "  - data-checksums", "  - pgdata: /tmp/x", "bootstrap.initdb[1]", "option 'pgdata' is not allowed", 15),
        new("bad verify_client", "  connect_address: 10.0.0.1:8008", "  connect_address: 10.0.0.1:8008\n  verify_client: sometimes", "restapi.verify_client", "must be one of none, optional, required", 6),
        new("bad sslmode", "      password: s3cr3t-super", "      password: s3cr3t-super\n      sslmode: verify", "postgresql.authentication.superuser.sslmode", "must be one of disable, allow, prefer, require, verify-ca, verify-full", 24),
        new("quorum commit", "    retry_timeout: 10", "    retry_timeout: 10\n    synchronous_mode: quorum", "bootstrap.dcs.synchronous_mode", "'quorum' is not supported by PgHa", 13),
        new("standby cluster port", "    retry_timeout: 10", "    retry_timeout: 10\n    standby_cluster:\n      port: abc", "bootstrap.dcs.standby_cluster", "should be a TCP port", 13),
        new("replica method without section", "    max_wal_size: 1GB", "    max_wal_size: 1GB\n  create_replica_methods: [wal_g, basebackup]", "postgresql.wal_g", "listed in create_replica_methods but has no section"),
        new("bad tag type", "watchdog:", "tags:\n  nofailover: maybe\nwatchdog:", "tags.nofailover", "expected true or false, found 'maybe'", 27),
        new("bad bool", "  mode: off", "  mode: off\n  device: /dev/watchdog\n  safety_margin: -2", "watchdog.safety_margin", "must be at least -1, found -2", 29),
        new("watchdog required but unusable", "  mode: off", "  mode: required\n  safety_margin: 25", "watchdog.safety_margin", "is shorter than loop_wait (10 s), so the watchdog cannot be used and mode is required", 26),
        new("YAML syntax error", "  connect_address: 10.0.0.1:8008", "  connect_address: 10.0.0.1:8008\n   bad: [1, 2", "", "YAML syntax error at line 6", 6),
        new("YAML tab indentation", "name: node1", "name: node1\n\tfoo: bar", "", "YAML syntax error at line 2", 2),
        new("two YAML documents", "", "---\nscope: other\n", "", "expected a single YAML document"),
    }.Select(c => new TestCaseData(c).SetName(c.Name));

    [TestCaseSource(nameof(Cases))]
    public void Bad_config_gives_one_clear_error(Case c)
    {
        Assert.That(c.Find.Length == 0 || BaseYaml.Contains(c.Find, StringComparison.Ordinal), "the case's Find text is not in BaseYaml");
        var yaml = c.Find.Length == 0 ? BaseYaml + "\n" + c.Replace : BaseYaml.Replace(c.Find, c.Replace, StringComparison.Ordinal);
        var result = LoadYaml(yaml);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors, Has.Count.EqualTo(1), result.FormatErrors);
        var error = result.Errors[0];
        Assert.Multiple(() =>
        {
            Assert.That(error.Path, Is.EqualTo(c.Path));
            Assert.That(error.Problem, Does.Contain(c.Problem));
            Assert.That(error.Source, Is.Not.Null);
            Assert.That(error.Source!.Origin, Does.EndWith("patroni.yml"));
            if (c.Line > 0) Assert.That(error.Source.Line, Is.EqualTo(c.Line), error.ToString());
            Assert.That(error.ToString(), Does.StartWith(error.Source.ToString() + ": " + (c.Path.Length > 0 ? c.Path + ": " : "")));
        });
    }

    [Test]
    public void All_problems_are_reported_together_in_file_order()
    {
        var yaml = BaseYaml
            .Replace("  listen: 0.0.0.0:8008", "  listen: 8008x", StringComparison.Ordinal)
            .Replace("    loop_wait: 10", "    loop_wait: ten", StringComparison.Ordinal)
            .Replace("  parameters:", "  paramters:", StringComparison.Ordinal)
            .Replace("  mode: off", "  mode: sometimes", StringComparison.Ordinal);
        var result = LoadYaml(yaml);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Is.EqualTo(new[] { "restapi.listen", "bootstrap.dcs.loop_wait", "postgresql.paramters", "watchdog.mode" }));
        Assert.That(result.FormatErrors().Split('\n'), Has.Length.EqualTo(4));
    }

    [Test]
    public void Missing_file_is_an_error_not_an_exception()
    {
        var result = PgHaConfigLoader.Load(Path.Combine(TempDir, "nope.yml"), new Dictionary<string, string>());
        Assert.That(result.Errors.Single().ToString(), Does.EndWith("nope.yml: no such file or directory"));
    }

    [Test]
    public void Empty_file_is_an_error()
    {
        var result = LoadYaml("# nothing here\n");
        Assert.That(result.Errors.Single().Problem, Is.EqualTo("the configuration is empty"));
    }

    [Test]
    public void A_list_document_is_an_error()
    {
        var result = LoadYaml("- a\n- b\n");
        Assert.That(result.Errors.Single().Problem, Does.Contain("must be a mapping of settings, found a list"));
    }

    [Test]
    public void Warnings_do_not_block_loading()
    {
        var result = LoadYaml(BaseYaml.Replace("    max_wal_size: 1GB", "    max_wal_size: 1GB\n    max_connections: 500\n  use_slots: false", StringComparison.Ordinal)
            .Replace("    ttl: 30", "    ttl: 15\n    loop_wait: 5\n    retry_timeout: 5", StringComparison.Ordinal).Replace("    loop_wait: 10\n    retry_timeout: 10\n", "", StringComparison.Ordinal));
        Assert.That(result.Errors, Is.Empty, result.FormatErrors);
        Assert.That(result.Warnings.Select(w => w.Path), Is.EquivalentTo(new[] { "bootstrap.dcs.ttl", "postgresql.parameters.max_connections", "postgresql.use_slots" }));
    }
}
