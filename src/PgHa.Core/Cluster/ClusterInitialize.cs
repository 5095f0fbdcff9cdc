namespace PgHa.Cluster;

/// <summary>The <c>initialize</c> key: the PostgreSQL system identifier of the cluster, empty while the bootstrap race winner is still running initdb.</summary>
/// <param name="SystemId">The raw value; <c>""</c> means "bootstrap in progress".</param>
/// <param name="Version">CAS token of the key.</param>
public sealed record ClusterInitialize(string SystemId, DcsVersion Version)
{
    /// <summary>Patroni treats a system identifier as valid when it has at least 10 characters, all digits.</summary>
    public bool IsValidSystemId => SystemId.Length >= 10 && SystemId.All(char.IsAsciiDigit);

    /// <summary>True while the bootstrap race winner has not yet written the system identifier.</summary>
    public bool IsBootstrapInProgress => SystemId.Length == 0;
}
