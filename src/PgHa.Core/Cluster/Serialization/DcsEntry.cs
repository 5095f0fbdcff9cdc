namespace PgHa.Cluster.Serialization;

/// <summary>A raw key read from the DCS, before parsing.</summary>
/// <param name="Key">Key relative to the cluster prefix (<c>leader</c>, <c>members/node1</c>, …), without a leading slash.</param>
/// <param name="Value">The value as stored (UTF-8 decoded).</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="Session">TTL carrier the key is bound to (etcd lease, ZooKeeper ephemeral owner, Consul session), or null.</param>
public sealed record DcsEntry(string Key, string Value, DcsVersion Version, string? Session = null);
