using Npgsql;

namespace PgHa.Postgres.Tests;

/// <summary>
/// <c>authentication.*</c> connection options (sslmode, sslrootcert, gssencmode, …) reach the libpq strings and the
/// agent's Npgsql connections; no PostgreSQL needed.
/// </summary>
public sealed class ConnectionParametersTests
{
    private static readonly PostgresConnectionParameters Full = new()
    {
        SslMode = "verify-full",
        SslKey = "/etc/pg ssl/client.key",
        SslPassword = "key 'pass'",
        SslCert = "/etc/pgssl/client.crt",
        SslRootCert = "/etc/pgssl/root.crt",
        SslCrl = "/etc/pgssl/root.crl",
        SslCrlDir = "/etc/pgssl/crl.d",
        GssEncMode = "disable",
        ChannelBinding = "require",
    };

    private static PostgresControllerOptions Options(PostgresConnectionParameters? replication = null, PostgresConnectionParameters? superuser = null) => new()
    {
        DataDirectory = "/data/pg",
        Listen = "127.0.0.1:5433",
        Scope = "batman",
        MemberName = "node-1",
        Superuser = new PostgresCredentials("postgres", "su", superuser),
        Replication = new PostgresCredentials("replicator", "rep", replication),
    };

    [Test]
    public void Primary_conninfo_keeps_the_prefer_defaults_when_nothing_is_configured()
    {
        var info = new PostgresConfigFiles(Options()).PrimaryConnInfo("10.0.0.2", 5432);
        Assert.That(info, Is.EqualTo("user=replicator password=rep host=10.0.0.2 port=5432 sslmode=prefer application_name=node-1 gssencmode=prefer channel_binding=prefer"));
    }

    [Test]
    public void Primary_conninfo_carries_the_replication_users_options_in_patronis_order_quoted()
    {
        var info = new PostgresConfigFiles(Options(Full)).PrimaryConnInfo("10.0.0.2", 5432);
        Assert.That(info, Is.EqualTo(
            "user=replicator password=rep host=10.0.0.2 port=5432 sslmode=verify-full sslcert=/etc/pgssl/client.crt " +
            "sslkey='/etc/pg ssl/client.key' sslpassword='key \\'pass\\'' sslrootcert=/etc/pgssl/root.crt " +
            "sslcrl=/etc/pgssl/root.crl sslcrldir=/etc/pgssl/crl.d application_name=node-1 gssencmode=disable channel_binding=require"));
        var parsed = ConnInfo.Parse(info);
        Assert.Multiple(() =>
        {
            Assert.That(parsed["sslkey"], Is.EqualTo("/etc/pg ssl/client.key"));
            Assert.That(parsed["sslpassword"], Is.EqualTo("key 'pass'"));
        });
        // And as postgresql.conf quotes it once more.
        var conf = new PostgresConfigFiles(Options(Full)).RenderPostgresqlConf(new RecoverySettings(info, "node_1"));
        Assert.That(conf, Does.Contain("sslpassword=''key \\\\''pass\\\\'''' "));
    }

    [Test]
    public void Only_the_configured_modes_replace_their_defaults()
    {
        var info = new PostgresConfigFiles(Options(new PostgresConnectionParameters { SslMode = "require" })).PrimaryConnInfo("h", 1);
        Assert.That(ConnInfo.Parse(info), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["user"] = "replicator", ["password"] = "rep", ["host"] = "h", ["port"] = "1", ["sslmode"] = "require",
            ["application_name"] = "node-1", ["gssencmode"] = "prefer", ["channel_binding"] = "prefer",
        }));
    }

    [Test]
    public void Tool_connection_strings_carry_only_what_is_configured()
    {
        Assert.That(ConnInfo.Build(new PostgresConnectionParameters().ToLibpq()), Is.Empty, "no -d for pg_basebackup, nothing added to --source-server");
        Assert.That(ConnInfo.Build(new PostgresConnectionParameters { SslMode = "require", SslRootCert = "/r.crt" }.ToLibpq("node-1")),
            Is.EqualTo("sslmode=require sslrootcert=/r.crt application_name=node-1"));
    }

    [Test]
    public void Redact_hides_passwords_for_logs()
    {
        var info = ConnInfo.Build([new("user", "u"), new("password", "p w"), .. Full.ToLibpq()]);
        var redacted = ConnInfo.Redact(info);
        Assert.Multiple(() =>
        {
            Assert.That(redacted, Does.Not.Contain("pass'").And.Not.Contain("p w"));
            Assert.That(ConnInfo.Parse(redacted)["sslpassword"], Is.EqualTo("********"));
            Assert.That(ConnInfo.Parse(redacted)["password"], Is.EqualTo("********"));
            Assert.That(ConnInfo.Parse(redacted)["sslkey"], Is.EqualTo("/etc/pg ssl/client.key"));
            Assert.That(ConnInfo.Redact(""), Is.Empty);
            Assert.That(Full.ToString(), Does.Contain("sslmode=verify-full").And.Contain("sslpassword=(set)").And.Not.Contain("key 'pass'"));
        });
    }

    [TestCase("disable", SslMode.Disable)]
    [TestCase("allow", SslMode.Allow)]
    [TestCase("prefer", SslMode.Prefer)]
    [TestCase("require", SslMode.Require)]
    [TestCase("verify-ca", SslMode.VerifyCA)]
    [TestCase("verify-full", SslMode.VerifyFull)]
    public void Npgsql_gets_the_libpq_sslmode(string libpq, SslMode npgsql)
    {
        var csb = new NpgsqlConnectionStringBuilder();
        new PostgresConnectionParameters { SslMode = libpq }.ApplyTo(csb);
        Assert.That(csb.SslMode, Is.EqualTo(npgsql));
    }

    [Test]
    public void Npgsql_gets_certificates_gss_and_channel_binding()
    {
        var csb = new NpgsqlConnectionStringBuilder();
        (Full with { GssEncMode = "require" }).ApplyTo(csb);
        Assert.Multiple(() =>
        {
            Assert.That(csb.RootCertificate, Is.EqualTo("/etc/pgssl/root.crt"));
            Assert.That(csb.SslCertificate, Is.EqualTo("/etc/pgssl/client.crt"));
            Assert.That(csb.SslKey, Is.EqualTo("/etc/pg ssl/client.key"));
            Assert.That(csb.SslPassword, Is.EqualTo("key 'pass'"));
            Assert.That(csb.GssEncryptionMode, Is.EqualTo(GssEncryptionMode.Require));
            Assert.That(csb.ChannelBinding, Is.EqualTo(ChannelBinding.Require));
        });
        var prefer = new NpgsqlConnectionStringBuilder();
        new PostgresConnectionParameters { GssEncMode = "prefer", ChannelBinding = "disable" }.ApplyTo(prefer);
        Assert.That((prefer.GssEncryptionMode, prefer.ChannelBinding), Is.EqualTo((GssEncryptionMode.Prefer, ChannelBinding.Disable)));
    }

    [Test]
    public void Over_a_unix_socket_npgsql_gets_no_ssl_options_as_libpq_ignores_them()
    {
        var csb = new NpgsqlConnectionStringBuilder();
        Full.ApplyTo(csb, unixSocket: true);
        var defaults = new NpgsqlConnectionStringBuilder();
        Assert.Multiple(() =>
        {
            Assert.That(csb.SslMode, Is.EqualTo(defaults.SslMode));
            Assert.That(csb.RootCertificate, Is.Null);
            Assert.That(csb.SslCertificate, Is.Null);
            Assert.That(csb.SslKey, Is.Null);
            Assert.That(csb.SslPassword, Is.Null);
            Assert.That(csb.ChannelBinding, Is.EqualTo(ChannelBinding.Require), "channel binding and GSS keep libpq's socket behaviour");
        });
    }

    [Test]
    public void Npgsql_keeps_its_defaults_but_skips_gss_encryption_when_nothing_is_configured()
    {
        var csb = new NpgsqlConnectionStringBuilder();
        var defaults = new NpgsqlConnectionStringBuilder();
        new PostgresConnectionParameters().ApplyTo(csb);
        Assert.Multiple(() =>
        {
            Assert.That(csb.GssEncryptionMode, Is.EqualTo(GssEncryptionMode.Disable), "Npgsql's prefer would load the Kerberos libraries");
            Assert.That(csb.SslMode, Is.EqualTo(defaults.SslMode));
            Assert.That(csb.ChannelBinding, Is.EqualTo(defaults.ChannelBinding));
            Assert.That(csb.RootCertificate, Is.Null);
            Assert.That(csb.SslCertificate, Is.Null);
        });
    }

    [Test]
    public void The_validator_names_bad_modes_per_user()
    {
        var o = Options(new PostgresConnectionParameters { SslMode = "verify_full" }, new PostgresConnectionParameters { GssEncMode = "yes", ChannelBinding = "on" });
        var result = new PostgresControllerOptionsValidator().Validate(null, o);
        Assert.That(result.Failures, Is.EquivalentTo(new[]
        {
            "authentication.superuser.gssencmode 'yes' is not one of disable, prefer, require",
            "authentication.superuser.channel_binding 'on' is not one of disable, prefer, require",
            "authentication.replication.sslmode 'verify_full' is not one of disable, allow, prefer, require, verify-ca, verify-full",
        }));
        Assert.That(new PostgresControllerOptionsValidator().Validate(null, Options(Full, Full)).Succeeded, Is.True);
    }

    [Test]
    public void Credentials_never_print_secrets_and_default_to_no_options()
    {
        var c = new PostgresCredentials("rep", "secret", Full);
        Assert.Multiple(() =>
        {
            Assert.That(c.ToString(), Does.Not.Contain("secret").And.Not.Contain("key 'pass'"));
            Assert.That(new PostgresCredentials("rep").EffectiveConnection.IsEmpty, Is.True);
            Assert.That(c.EffectiveConnection, Is.SameAs(Full));
        });
    }
}
