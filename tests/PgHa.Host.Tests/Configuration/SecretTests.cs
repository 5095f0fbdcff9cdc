using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>Passwords, tokens and key passphrases never appear in error messages or in ToString.</summary>
public sealed class SecretTests : ConfigTestBase
{
    private static readonly string[] SecretValues =
        ["rest-p4ss", "key-p4ss", "ctl-p4ss", "ctl-key-p4ss", "etcd-p4ss", "app-p4ss", "super-p4ss", "repl-p4ss", "repl-ssl-p4ss", "rewind-p4ss"];

    [Test]
    public void ToString_of_the_loaded_configuration_hides_every_secret()
    {
        var c = LoadValid(FullExampleConfigTests.FullYaml);
        var text = c.ToString() + c.RestApi + c.Ctl + c.Dcs + c.Bootstrap + c.Bootstrap.Users + c.Postgresql + c.Postgresql.Authentication
                   + c.Postgresql.Authentication.Superuser + c.Postgresql.Authentication.Replication + c.Postgresql.Authentication.Rewind;
        foreach (var secret in SecretValues) Assert.That(text, Does.Not.Contain(secret));
        Assert.That(text, Does.Contain("Password = ********"));
    }

    [Test]
    public void ToString_of_other_DCS_sections_hides_secrets()
    {
        var zk = new ZooKeeperConfig { Hosts = [], KeyPassword = new Secret("zk-p4ss"), AuthData = new OrderedMap<Secret>([new("digest", new Secret("u:zk-digest"))]) };
        var consul = new ConsulConfig { Token = new Secret("consul-t0ken") };
        Assert.That(zk + consul.ToString(), Does.Not.Contain("zk-p4ss").And.Not.Contain("zk-digest").And.Not.Contain("consul-t0ken"));
    }

    [Test]
    public void Errors_never_quote_secrets()
    {
        var yaml = FullExampleConfigTests.FullYaml
            .Replace("    password: rest-p4ss", "    password: [rest-p4ss]", StringComparison.Ordinal)
            .Replace("  keyfile_password: key-p4ss", "  keyfile_password: {x: key-p4ss}", StringComparison.Ordinal)
            .Replace("  password: etcd-p4ss", "  password: yes", StringComparison.Ordinal)
            .Replace("      password: super-p4ss", "      pasword: super-p4ss", StringComparison.Ordinal)
            .Replace("  hosts:\n  - etcd1:2379", "  url: http://patroni:etcd-p4ss@etcd1:23x9\n  hosts:\n  - etcd1:2379", StringComparison.Ordinal);
        var env = new Dictionary<string, string> { ["PATRONI_REPLICATION_PASSWORD"] = "repl-p4ss", ["PATRONI_CTL_PASSWORD"] = "ctl-p4ss", ["PATRONI_RESTAPI_LISTEN"] = "x" };
        var result = LoadYaml(yaml, env);
        Assert.That(result.Errors, Has.Count.EqualTo(6), result.FormatErrors);
        var text = result.FormatErrors() + string.Join("\n", result.Warnings);
        foreach (var secret in SecretValues) Assert.That(text, Does.Not.Contain(secret));
        Assert.That(text, Does.Contain("restapi.authentication.password: expected a string, found a list"));
        Assert.That(text, Does.Contain("etcd3.password: expected a string, found a boolean; quote the value"));
        Assert.That(text, Does.Contain("postgresql.authentication.superuser.pasword: unknown setting (did you mean 'password'?)"));
        Assert.That(text, Does.Contain("etcd3.url: 'http://***@etcd1:23x9' is not an http:// or https:// URL"));
    }
}
