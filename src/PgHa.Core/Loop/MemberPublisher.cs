using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Loop;

/// <summary>Builds the member record a node publishes, from what it observed this cycle.</summary>
public static class MemberPublisher
{
    /// <summary>The member key content for this node.</summary>
    public static Member Build(NodeIdentity identity, PostgresStatus pg, HaMemory memory, HaSettings settings)
    {
        var state = memory.Busy?.Kind switch
        {
            BusyActionKind.Bootstrap => "initializing new cluster",
            BusyActionKind.CreateReplica => "creating replica",
            BusyActionKind.Start => "starting",
            BusyActionKind.Demote => pg.IsRunning ? "stopping" : "stopped",
            BusyActionKind.Restart => "restarting",
            BusyActionKind.Reinitialize => "creating replica",
            _ => pg.IsRunning ? "running" : "stopped",
        };
        var role = pg.DataDirectory != DataDirectoryState.Initialized ? MemberRole.Uninitialized
            : pg.Role == PostgresRole.Primary ? MemberRole.Primary
            : pg.Role == PostgresRole.Replica && settings.StandbyCluster is not null && memory.HeldLock is not null ? MemberRole.StandbyLeader
            : pg.Role == PostgresRole.Replica ? MemberRole.Replica
            : MemberRole.Uninitialized;
        return new Member(identity.Name)
        {
            ConnUrl = identity.ConnUrl,
            ApiUrl = identity.ApiUrl,
            State = state,
            Role = role,
            AgentVersion = identity.AgentVersion,
            Tags = settings.Tags,
            XlogLocation = pg.IsRunning ? pg.Lsn : null,
            Timeline = pg.IsRunning && pg.Timeline > 0 ? pg.Timeline : null,
            Pause = settings.Pause,
            PendingRestart = !memory.PendingRestart.IsDefaultOrEmpty,
        };
    }
}
