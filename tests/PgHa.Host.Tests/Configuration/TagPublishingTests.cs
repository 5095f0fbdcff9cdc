using PgHa.Host.Configuration;

namespace PgHa.Host.Tests.Configuration;

/// <summary>Tags are published as Patroni publishes them: false built-in booleans dropped, custom values kept.</summary>
public sealed class TagPublishingTests : ConfigTestBase
{
    private PgHa.Cluster.MemberTags Tags(string tagsYaml) => LoadValid(BaseYaml + "\ntags:\n" + tagsYaml).Tags;

    private static string[] Entries(PgHa.Cluster.MemberTags tags) => [.. tags.Entries.Select(e => $"{e.Key}={e.Value}")];

    [Test]
    public void False_built_in_tags_are_dropped_custom_false_values_are_kept_in_order()
    {
        var tags = Tags("""
              custom_off: false
              nofailover: false
              clonefrom: false
              noloadbalance: false
              nosync: false
              nostream: false
              zone: 0
              custom_empty: ''
              nested: {a: [1, 2]}
            """);
        Assert.That(Entries(tags), Is.EqualTo(new[] { "custom_off=false", "zone=0", "custom_empty=\"\"", "nested={\"a\":[1,2]}" }));
        Assert.That(tags.NoFailover, Is.False);
    }

    [Test]
    public void True_built_in_tags_are_published_in_configuration_order()
    {
        var tags = Tags("""
              noloadbalance: true
              replicatefrom: node3
              nofailover: true
              clonefrom: true
              nosync: true
              nostream: true
            """);
        Assert.That(Entries(tags), Is.EqualTo(new[] { "noloadbalance=true", "replicatefrom=\"node3\"", "nofailover=true", "clonefrom=true", "nosync=true", "nostream=true" }));
        Assert.That(tags.NoFailover && tags.CloneFrom && tags.NoLoadBalance && tags.NoSync, Is.True);
    }

    [Test]
    public void Explicit_false_is_kept_next_to_a_priority_tag()
    {
        var tags = Tags("""
              nofailover: false
              failover_priority: 0
              nosync: false
              sync_priority: 3
            """);
        Assert.That(Entries(tags), Is.EqualTo(new[] { "nofailover=false", "failover_priority=0", "nosync=false", "sync_priority=3" }));
        Assert.That(tags.NoFailover, Is.False, "an explicit nofailover wins over failover_priority 0");
    }

    [Test]
    public void Failover_priority_zero_alone_means_no_failover()
    {
        var tags = Tags("  failover_priority: 0\n");
        Assert.That(tags.NoFailover, Is.True);
    }
}
