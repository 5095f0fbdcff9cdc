namespace PgHa.Decisions;

/// <summary>
/// Standby cluster bootstrap (the initialize race was won): clone the remote primary of <c>standby_cluster</c>, take
/// the leader lock, record the system identifier and configuration, and start as the standby leader. Runs in the
/// background.
/// </summary>
public sealed record BootstrapStandbyLeader : HaAction
{
    /// <inheritdoc />
    public override string Name => "bootstrap-standby-leader";
}

/// <summary>
/// Make PostgreSQL run as a replica of the remote primary of <c>standby_cluster</c> (primary_conninfo to its host and
/// port, its <c>primary_slot_name</c>, <c>restore_command</c>, …): what the standby leader, and a node of an unhealthy
/// standby cluster, streams from. Runs in the background.
/// </summary>
public sealed record FollowRemotePrimary : HaAction
{
    /// <inheritdoc />
    public override string Name => "follow-remote-primary";
}
