using PgHa.Cluster;
using PgHa.ConsulTestServer;

namespace PgHa.Dcs.Consul.Tests;

/// <summary>
/// <c>register_service</c>: the node's Consul service follows its member key — registered with its role as tags and a
/// check on its REST role endpoint while PostgreSQL runs, re-tagged after a role change, removed when it stops.
/// </summary>
[TestFixture]
public sealed class ConsulServiceRegistrationTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    private static Member Node(MemberRole role, string state) => new("node.1")
    {
        Role = role,
        State = state,
        ApiUrl = "http://127.0.0.1:8008/patroni",
        ConnUrl = "postgres://10.0.0.1:5433/postgres",
    };

    private static ServiceRegistration? Registered(string id) =>
        ConsulTestEnvironment.Shared.Store.Services().SingleOrDefault(s => s.Id == id);

    [Test]
    public async Task The_service_follows_role_and_state()
    {
        var scope = "Pg_Ha.svc-" + Guid.NewGuid().ToString("N")[..8];
        var options = ConsulTestEnvironment.Options(scope, "node.1");
        options.RegisterService = true;
        options.ServiceTags.Add("zone-b");
        options.ServiceTags.Add("dc1");
        await using var dcs = new ConsulDcs(options, TimeProvider.System);
        var id = $"{scope}/node.1";
        try
        {
            await dcs.TouchMemberAsync(Node(MemberRole.Replica, "starting"), Ttl, CancellationToken.None);
            Assert.That(Registered(id), Is.Null, "not while PostgreSQL is starting");

            await dcs.TouchMemberAsync(Node(MemberRole.Primary, "running"), Ttl, CancellationToken.None);
            var primary = Registered(id);
            Assert.That(primary, Is.Not.Null);
            Assert.Multiple(() =>
            {
                Assert.That(primary!.Name, Is.EqualTo(ConsulServiceRegistrar.ServiceNameOf(scope)));
                Assert.That(primary.Name, Does.StartWith("pg-ha-svc-"), "DNS-safe: lowercase, '_' and '.' become '-'");
                Assert.That(primary.Tags, Is.EqualTo(new[] { "dc1", "zone-b", "master", "primary" }));
                Assert.That((primary.Address, primary.Port), Is.EqualTo(("10.0.0.1", 5433)));
                Assert.That(primary.CheckHttp, Is.EqualTo("http://127.0.0.1:8008/master"));
            });

            await dcs.TouchMemberAsync(Node(MemberRole.Replica, "running"), Ttl, CancellationToken.None);
            var replica = Registered(id);
            Assert.That(replica!.Tags, Is.EqualTo(new[] { "dc1", "zone-b", "replica" }));
            Assert.That(replica.CheckHttp, Is.EqualTo("http://127.0.0.1:8008/replica"));

            await dcs.TouchMemberAsync(Node(MemberRole.Replica, "stopped"), Ttl, CancellationToken.None);
            Assert.That(Registered(id), Is.Null, "removed when PostgreSQL is stopped");
        }
        finally
        {
            await dcs.DeleteClusterAsync(CancellationToken.None);
        }
    }

    [TestCase("batman", "batman")]
    [TestCase("My.Cluster_1 x", "my-cluster-1-x")]
    [TestCase("pg/ü", "pgu0047u0252")]
    public void Service_names_are_made_dns_safe_like_patroni(string scope, string expected) =>
        Assert.That(ConsulServiceRegistrar.ServiceNameOf(scope), Is.EqualTo(expected));
}
