namespace PgHa.Dcs.Etcd.Tests;

/// <summary>Patroni's endpoint forms and the validation messages, without a server.</summary>
[TestFixture]
public sealed class EtcdDcsOptionsTests
{
    private static readonly object[] EndpointForms =
    [
        new object[] { new[] { "127.0.0.1:2379" }, null!, new[] { "http://127.0.0.1:2379/" } },
        new object[] { new[] { "etcd1" }, null!, new[] { "http://etcd1:2379/" } },
        new object[] { new[] { "http://etcd1:2381" }, null!, new[] { "http://etcd1:2381/" } },
        new object[] { new[] { "http://etcd1" }, null!, new[] { "http://etcd1:2379/" } },
        new object[] { new[] { "https://etcd1/" }, null!, new[] { "https://etcd1:2379/" } },
        new object[] { new[] { "etcd1:2379, etcd2:2379,etcd3" }, null!, new[] { "http://etcd1:2379/", "http://etcd2:2379/", "http://etcd3:2379/" } },
        new object[] { new[] { "etcd1:2379", "etcd2:2379", "etcd1:2379" }, null!, new[] { "http://etcd1:2379/", "http://etcd2:2379/" } },
        new object[] { new[] { "[::1]:2379" }, null!, new[] { "http://[::1]:2379/" } },
        new object[] { new[] { "etcd1:2379" }, "https", new[] { "https://etcd1:2379/" } },
    ];

    /// <summary>host, hosts (list or comma list) and url forms all become absolute URIs with etcd's port by default.</summary>
    [TestCaseSource(nameof(EndpointForms))]
    public void EndpointsAcceptPatronisForms(string[] endpoints, string? protocol, string[] expected)
    {
        var options = Valid();
        options.Endpoints = endpoints;
        options.Protocol = protocol;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Validate(), Is.Empty);
            Assert.That(options.ParseEndpoints([]).Select(u => u.ToString()), Is.EqualTo(expected));
        }
    }

    [Test]
    public void ACertificateMakesSchemelessEndpointsHttps()
    {
        var options = Valid();
        options.CaCert = ExistingFile();

        Assert.That(options.ParseEndpoints([]).Single().Scheme, Is.EqualTo("https"));
    }

    private static readonly object[] BadSettings =
    [
        new object[] { (Action<EtcdDcsOptions>)(o => o.Scope = ""), "Scope:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Scope = "a/b"), "Scope:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Name = " "), "Name:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Name = "node/1"), "Name:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Endpoints = []), "Endpoints: at least one" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Endpoints = ["ftp://etcd1:2379"]), "Endpoints: 'ftp://etcd1:2379'" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Endpoints = ["http://etcd1:2379/v3"]), "Endpoints: 'http://etcd1:2379/v3'" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Endpoints = ["http://etcd1:2379", "https://etcd2:2379"]), "Endpoints: mixes http and https" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Protocol = "grpc"), "Protocol:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.RequestTimeout = TimeSpan.Zero), "RequestTimeout:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Username = "root"), "Password:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Password = "x"), "Username:" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.CaCert = "/nonexistent/ca.pem"), "CaCert: file '/nonexistent/ca.pem' does not exist" },
        new object[] { (Action<EtcdDcsOptions>)(o => o.Key = ExistingFile()), "Key: set without Cert" },
        new object[] { (Action<EtcdDcsOptions>)(o => { o.CaCert = ExistingFile(); o.Endpoints = ["http://etcd1:2379"]; }), "Endpoints: CaCert/Cert are set but an endpoint uses http" },
    ];

    /// <summary>Each bad setting gets a message naming it, and the constructor refuses the options with that message.</summary>
    [TestCaseSource(nameof(BadSettings))]
    public void ValidateNamesTheBadSetting(Action<EtcdDcsOptions> spoil, string expected)
    {
        var options = Valid();
        spoil(options);

        Assert.That(options.Validate(), Has.Some.StartsWith(expected));
        var error = Assert.Throws<ArgumentException>(() => _ = new EtcdDcs(options, TimeProvider.System));
        Assert.That(error!.Message, Does.Contain(expected));
    }

    [Test]
    public void DefaultsAreServiceNamespaceAndTenSecondRequests()
    {
        var options = new EtcdDcsOptions();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Namespace, Is.EqualTo("service"));
            Assert.That(options.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(options.Validate(), Has.Some.StartsWith("Scope:").And.Some.StartsWith("Name:").And.Some.StartsWith("Endpoints:"));
        }
    }

    /// <summary>Creating a connection does no I/O: it succeeds with nothing listening, and names its cluster prefix as Patroni does.</summary>
    [Test]
    public async Task CreatingAConnectionNeedsNoServer()
    {
        var options = Valid();
        options.Namespace = "//pg/ha/";

        await using var dcs = new EtcdDcs(options, TimeProvider.System);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dcs.MemberName, Is.EqualTo("node1"));
            Assert.That(dcs.Prefix, Is.EqualTo("/pg/ha/batman/"));
            Assert.That(dcs.GuaranteedLockValidity(TimeSpan.FromSeconds(30)), Is.EqualTo(TimeSpan.FromSeconds(30)));
        }
    }

    [Test]
    public void RangeEndIncrementsTheLastByte() =>
        Assert.That(System.Text.Encoding.UTF8.GetString(EtcdDcs.RangeEnd(System.Text.Encoding.UTF8.GetBytes("/service/batman/"))), Is.EqualTo("/service/batman0"));

    private static EtcdDcsOptions Valid() => new() { Endpoints = ["127.0.0.1:1"], Scope = "batman", Name = "node1" };

    private static string ExistingFile() => typeof(EtcdDcsOptionsTests).Assembly.Location;
}
