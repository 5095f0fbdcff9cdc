namespace PgHa.Cluster;

/// <summary>The <c>leader</c> key: the member holding the leader lock. Its value is the bare member name, not JSON.</summary>
/// <param name="Holder">Member name stored in the key.</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="Session">The TTL carrier the key is bound to (etcd lease id, ZooKeeper ephemeral owner, Consul session), if the DCS reports one.</param>
public sealed record LeaderLock(string Holder, DcsVersion Version, string? Session = null);
