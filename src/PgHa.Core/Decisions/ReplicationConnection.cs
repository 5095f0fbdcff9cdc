namespace PgHa.Decisions;

/// <summary>One row of the primary's <c>pg_stat_replication</c>, as the synchronous-standby choice needs it.</summary>
/// <param name="ApplicationName">The standby's <c>application_name</c> (PgHa sets it to the member name).</param>
/// <param name="State">The walsender state (<c>streaming</c>, <c>catchup</c>, …).</param>
/// <param name="SyncState"><c>sync</c>, <c>potential</c>, <c>quorum</c> or <c>async</c>.</param>
/// <param name="FlushLsn">WAL position the standby reported flushed, in bytes (null when not reported yet).</param>
public sealed record ReplicationConnection(string ApplicationName, string State, string SyncState, long? FlushLsn)
{
    /// <summary>True when the standby streams and PostgreSQL currently counts it as synchronous.</summary>
    public bool IsSync => State == "streaming" && SyncState == "sync";
}
