using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>Write the <c>sync</c> key <c>{leader, sync_standby}</c> with CAS on the version read this cycle.</summary>
/// <param name="Leader">This node, the leader writing it.</param>
/// <param name="Standbys">Synchronous standbys that may be promoted (empty: only the leader).</param>
/// <param name="Version">Version read this cycle; null when the key was absent (create-only).</param>
/// <param name="OnWritten">Steps that are safe only once the key says so (the CAS succeeded).</param>
public sealed record WriteSyncState(string Leader, ImmutableArray<string> Standbys, DcsVersion? Version, ImmutableArray<HaAction> OnWritten) : HaAction
{
    /// <inheritdoc />
    public override string Name => "write-sync";
}

/// <summary>Delete the <c>sync</c> key with CAS (synchronous mode was switched off).</summary>
/// <param name="Version">Version read this cycle.</param>
/// <param name="OnDeleted">Steps once deleted.</param>
public sealed record DeleteSyncState(DcsVersion Version, ImmutableArray<HaAction> OnDeleted) : HaAction
{
    /// <inheritdoc />
    public override string Name => "delete-sync";
}

/// <summary>
/// Set <c>synchronous_standby_names</c> on the local PostgreSQL and reload it; the loop then records the primary's flush
/// position as the new <see cref="SynchronousStandbyBaseline"/>.
/// </summary>
/// <param name="Value">The value; null hands the setting back to the configured parameters (synchronous mode off).</param>
public sealed record SetSynchronousStandbyNames(string? Value) : HaAction
{
    /// <inheritdoc />
    public override string Name => "set-sync-names";
}
