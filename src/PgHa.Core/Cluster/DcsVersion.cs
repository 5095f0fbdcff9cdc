namespace PgHa.Cluster;

/// <summary>
/// Opaque modification token of a DCS value (etcd <c>mod_revision</c>, ZooKeeper znode version, Consul
/// <c>ModifyIndex</c>). Read it with the value, hand it back to a compare-and-set write; never interpret it.
/// </summary>
/// <param name="Token">The adapter's own representation.</param>
public readonly record struct DcsVersion(string Token)
{
    /// <inheritdoc />
    public override string ToString() => Token;
}
