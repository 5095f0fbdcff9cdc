using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Dcs.Consul;
using PgHa.Dcs.Etcd;
using PgHa.Hosting;
using PgHa.Testing;

namespace PgHa.Embedding.Tests;

/// <summary>AddPgHa's registration rules: idempotent, one DCS, options bound from configuration and validated at start.</summary>
[TestFixture]
public sealed class RegistrationTests
{
    private static void Valid(PgHaOptions o)
    {
        o.Scope = "batman";
        o.Name = "node1";
        o.ApiUrl = "http://127.0.0.1:8008/patroni";
        o.PostgresConnectAddress = "127.0.0.1:5432";
        o.Postgres.DataDirectory = "/var/lib/postgresql/data";
    }

    [Test]
    public async Task CallingAddPgHaAndUseEtcdTwiceRegistersEverythingOnceAndMergesTheConfiguration()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPgHa(Valid).UseEtcd(e => e.Endpoints = ["10.0.0.1:2379"]);
        var registered = services.Where(d => !IsConfigurationStep(d)).ToList();
        services.AddPgHa(o => o.Ttl = 40).UseEtcd(e => { e.Username = "root"; e.Password = "secret"; });

        Assert.That(services.Where(d => !IsConfigurationStep(d)), Is.EquivalentTo(registered), "the second calls add configuration steps only");
        Assert.That(services.Count(d => d.ServiceType == typeof(IDcs)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ImplementationType?.Name == "PgHaHostedService"), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(IPgHaNode)), Is.EqualTo(1));
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value;
        Assert.That(health.Registrations.Count(r => r.Name == PgHaServiceCollectionExtensions.HealthCheckName), Is.EqualTo(1));
        var pgha = provider.GetRequiredService<IOptions<PgHaOptions>>().Value;
        Assert.That((pgha.Scope, pgha.Ttl), Is.EqualTo(("batman", 40)));
        var etcd = provider.GetRequiredService<IOptions<EtcdDcsOptions>>().Value;
        Assert.That(etcd.Endpoints, Is.EqualTo(new[] { "10.0.0.1:2379" }));
        Assert.That((etcd.Username, etcd.Scope, etcd.Name, etcd.RequestTimeout), Is.EqualTo(("root", "batman", "node1", TimeSpan.FromSeconds(10))),
            "the node's scope, name and retry_timeout are the defaults; what the caller sets is kept");
    }

    private static bool IsConfigurationStep(ServiceDescriptor d) =>
        d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() is var g
        && (g == typeof(IConfigureOptions<>) || g == typeof(IPostConfigureOptions<>));

    [Test]
    public async Task UseZooKeeperTakesTheNodesNamesAndTimingAndValidatesAtStart()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPgHa(Valid).UseZooKeeper(z => z.Hosts.Add("10.0.0.1:2181"));
        services.AddPgHa(o => o.Ttl = 40).UseZooKeeper(z => z.RequestTimeout = TimeSpan.FromSeconds(4));
        Assert.That(services.Count(d => d.ServiceType == typeof(IDcs)), Is.EqualTo(1));
        await using var provider = services.BuildServiceProvider();
        var zookeeper = provider.GetRequiredService<IOptions<PgHa.Dcs.ZooKeeper.ZooKeeperDcsOptions>>().Value;
        Assert.That((zookeeper.Scope, zookeeper.Name, zookeeper.Ttl, zookeeper.RequestTimeout, zookeeper.Hosts.Single()),
            Is.EqualTo(("batman", "node1", TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(4), "10.0.0.1:2181")));

        var broken = new ServiceCollection().AddLogging();
        broken.AddPgHa(Valid).UseZooKeeper(_ => { });
        await using var brokenProvider = broken.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => _ = brokenProvider.GetRequiredService<IOptions<PgHa.Dcs.ZooKeeper.ZooKeeperDcsOptions>>().Value);
        Assert.That(ex!.Message, Does.Contain("PgHa zookeeper: Hosts"));
    }

    [Test]
    public void ChoosingASecondKindOfDcsIsRefused()
    {
        var builder = new ServiceCollection().AddPgHa(Valid).UseEtcd(e => e.Endpoints = ["10.0.0.1:2379"]);
        var ex = Assert.Throws<InvalidOperationException>(() => builder.UseConsul(c => c.Address = new Uri("http://127.0.0.1:8500")));
        Assert.That(ex!.Message, Does.Contain("already chosen (etcd3)"));
    }

    [Test]
    public void OptionsBindFromAConfigurationSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgHa:Scope"] = "batman",
            ["PgHa:Name"] = "node2",
            ["PgHa:ApiUrl"] = "https://node2:8008/patroni",
            ["PgHa:Ttl"] = "45",
            ["PgHa:FenceSafetyMargin"] = "00:00:02",
            ["PgHa:Tags:nofailover"] = "true",
            ["PgHa:Postgres:DataDirectory"] = "/var/lib/pg",
            ["PgHa:Postgres:ConnectAddress"] = "node2:5432",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgHa(configuration.GetSection("PgHa")).UseDcs("in-memory", _ => new InMemoryDcs(new InMemoryDcsStore(TimeProvider.System), "service", "batman", "node2"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<PgHaOptions>>().Value;
        Assert.That((options.Name, options.Ttl, options.FenceSafetyMargin), Is.EqualTo(("node2", 45, TimeSpan.FromSeconds(2))));
        Assert.That(options.Tags["nofailover"], Is.EqualTo("true"));
        Assert.That((options.Postgres.DataDirectory, options.Postgres.Scope, options.Postgres.MemberName), Is.EqualTo(("/var/lib/pg", "batman", "node2")),
            "the PostgreSQL options take the node's scope and name");
    }

    [Test]
    public void EachUsersConnectionOptionsBindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgHa:Scope"] = "batman",
            ["PgHa:Name"] = "node2",
            ["PgHa:ApiUrl"] = "https://node2:8008/patroni",
            ["PgHa:Postgres:DataDirectory"] = "/var/lib/pg",
            ["PgHa:Postgres:ConnectAddress"] = "node2:5432",
            ["PgHa:Postgres:Replication:Username"] = "repl",
            ["PgHa:Postgres:Replication:Password"] = "secret",
            ["PgHa:Postgres:Replication:Connection:SslMode"] = "verify-full",
            ["PgHa:Postgres:Replication:Connection:SslRootCert"] = "/etc/ssl/root.crt",
            ["PgHa:Postgres:Replication:Connection:ChannelBinding"] = "require",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgHa(configuration.GetSection("PgHa")).UseDcs("in-memory", _ => new InMemoryDcs(new InMemoryDcsStore(TimeProvider.System), "service", "batman", "node2"));
        using var provider = services.BuildServiceProvider();
        var postgres = provider.GetRequiredService<IOptions<PgHaOptions>>().Value.Postgres;
        Assert.That(postgres.Replication.EffectiveConnection, Is.EqualTo(new PgHa.Postgres.PostgresConnectionParameters
        {
            SslMode = "verify-full", SslRootCert = "/etc/ssl/root.crt", ChannelBinding = "require",
        }));
        Assert.That((postgres.Replication.Username, postgres.Replication.Password), Is.EqualTo(("repl", "secret")), "bound onto the default credentials");
        Assert.That(postgres.Superuser.EffectiveConnection.IsEmpty, Is.True);
    }

    [Test]
    public void CallbacksBindFromConfigurationAndACommandThatCannotBeSplitIsNamed()
    {
        IOptions<PgHaOptions> Bind(string prePromote)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["PgHa:Scope"] = "batman",
                ["PgHa:Name"] = "node1",
                ["PgHa:ApiUrl"] = "http://127.0.0.1:8008/patroni",
                ["PgHa:PostgresConnectAddress"] = "127.0.0.1:5432",
                ["PgHa:Postgres:DataDirectory"] = "/var/lib/pg",
                ["PgHa:Callbacks:OnRoleChange"] = "/usr/local/bin/vip.sh 'eth0:1'",
                ["PgHa:Callbacks:PrePromote"] = prePromote,
            }).Build();
            var services = new ServiceCollection();
            services.AddPgHa(configuration.GetSection("PgHa")).UseDcs("in-memory", _ => new InMemoryDcs(new InMemoryDcsStore(TimeProvider.System), "service", "batman", "node1"));
            return services.BuildServiceProvider().GetRequiredService<IOptions<PgHaOptions>>();
        }

        var good = Bind("/usr/local/bin/fence.sh").Value;
        Assert.That((good.Callbacks.OnRoleChange, good.Callbacks.PrePromote), Is.EqualTo(("/usr/local/bin/vip.sh 'eth0:1'", "/usr/local/bin/fence.sh")));
        var ex = Assert.Throws<OptionsValidationException>(() => _ = Bind("/usr/local/bin/fence.sh 'oops").Value);
        Assert.That(ex!.Failures, Is.EqualTo(new[] { "PgHa:Callbacks: pre_promote: '/usr/local/bin/fence.sh 'oops' cannot be split into a command: no closing quotation: the single quote at position 25 is never closed" }));
    }

    [Test]
    public async Task TheTimingRuleIsCheckedWhenTheHostStartsWithAMessageNamingTheSettings()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddPgHa(o =>
        {
            Valid(o);
            (o.Ttl, o.LoopWait, o.RetryTimeout) = (20, 10, 10);
        }).UseDcs("in-memory", _ => new InMemoryDcs(new InMemoryDcsStore(TimeProvider.System), "service", "batman", "node1"))
            .UsePostgres(_ => new FakePostgres());
        using var host = builder.Build();
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(ex!.Message, Does.Contain("loop_wait + 2*retry_timeout must not exceed ttl: 10 + 2*10 > 20"));
        await Task.CompletedTask;
    }

    [Test]
    public void StartingWithoutADcsOrRequiredNamesFailsWithEveryProblemNamed()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddPgHa(o => o.Ttl = 30);
        using var host = builder.Build();
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(ex!.Failures, Has.Some.Contains("no DCS is chosen"));
        Assert.That(ex.Failures, Has.Some.Contains("PgHa:Scope is required"));
        Assert.That(ex.Failures, Has.Some.Contains("PgHa:ApiUrl must be an absolute http(s) URL"));
        Assert.That(ex.Failures, Has.Some.Contains("PgHa:Postgres: "), "PgHa drives PostgreSQL itself here, so its options are checked too");
    }
}
