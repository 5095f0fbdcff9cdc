using System.Globalization;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <inheritdoc />
    /// <remarks>
    /// Patroni's rule: the methods of <c>standby_cluster.create_replica_methods</c>
    /// (<see cref="PostgresControllerOptions.ReplicaMethodsFor"/>; <c>basebackup</c> when empty), not the local
    /// <c>postgresql.create_replica_methods</c>, tried in order as <see cref="CreateReplicaAsync"/> does against the
    /// remote's host and port (a custom method's <c>--connstring</c> names the remote). A section with only
    /// <c>restore_command</c> has no host to copy from: only its <c>no_leader</c> methods (a backup restore) run. Then the
    /// recovery settings of <see cref="FollowRemotePrimaryAsync"/>.
    /// </remarks>
    public async Task CreateReplicaFromRemoteAsync(StandbyClusterConfig remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var methods = _options.ReplicaMethodsFor(remote);
        var hasEndpoint = remote.Host is not null || remote.Port is not null;
        if (!hasEndpoint && !methods.Any(m => m.WorksWithoutLeader))
            throw new InvalidOperationException("standby_cluster has no host or port to clone from (only restore_command) and none of its create_replica_methods is marked no_leader");
        ClearForNewData("clone the standby cluster's remote primary");
        await CloneFromAsync(hasEndpoint ? RemoteMember(remote) : null, methods, cancellationToken).ConfigureAwait(false);
        // The clone is configured for a member; point it at the remote with the section's own settings instead.
        _files.WritePostgresqlConf(RemoteRecovery(remote));
        SetUpstream(remote.UpstreamName);
        PostgresLog.ClonedFromRemote(_logger, remote.Describe());
    }

    /// <inheritdoc />
    /// <remarks>
    /// No divergence check against the remote (it is another cluster's primary, or a restore_command): a node that must
    /// change history there is reinitialized by the operator, as in Patroni.
    /// </remarks>
    public async Task FollowRemotePrimaryAsync(StandbyClusterConfig remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (InspectDataDirectory() != DataDirectoryState.Initialized) throw new InvalidOperationException($"{DataDir} holds no initialized cluster");
        var running = false;
        if (LivePostmasterPid() is { } pid)
        {
            var primary = await WaitForPostmasterAsync(pid, cancellationToken).ConfigureAwait(false);
            if (primary == true) throw new InvalidOperationException("refusing to reconfigure a running primary as a standby leader (demote it first)");
            running = primary == false;
        }
        var recovery = RemoteRecovery(remote);
        _files.WritePassFile();
        _files.WriteStandbySignal();
        _files.WritePostgresqlConf(recovery);
        SetUpstream(remote.UpstreamName);
        // primary_conninfo, primary_slot_name, restore_command, archive_cleanup_command and recovery_min_apply_delay
        // are all reloadable since PostgreSQL 13/14; PgHa supports 15+.
        var then = running ? "reloaded the running replica" : "starting it";
        PostgresLog.Following(_logger, "the standby cluster's remote primary", remote.Host ?? "-", remote.Host is null && remote.Port is null ? null : remote.EffectivePort, recovery.PrimarySlotName, then);
        if (running) await ExecuteAsync("SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
        else await StartPostmasterAsync("standby leader", "following the standby cluster's remote primary " + remote.Describe(), cancellationToken).ConfigureAwait(false);
    }

    private RecoverySettings RemoteRecovery(StandbyClusterConfig remote) => new(
        remote.Host is null && remote.Port is null ? null : _files.PrimaryConnInfo(remote.Host ?? "localhost", remote.EffectivePort),
        remote.PrimarySlotName,
        remote.RestoreCommand,
        remote.ArchiveCleanupCommand,
        remote.RecoveryMinApplyDelay);

    /// <summary>The remote as a member to clone from: only its address matters to pg_basebackup.</summary>
    private static Member RemoteMember(StandbyClusterConfig remote)
    {
        var host = remote.Host ?? "localhost";
        if (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[')) host = "[" + host + "]";
        return new Member("standby_cluster remote primary")
        {
            ConnUrl = string.Create(CultureInfo.InvariantCulture, $"postgres://{host}:{remote.EffectivePort}/postgres"),
        };
    }
}
