using System.Globalization;
using System.Text;
using PgHa.Decisions;

namespace PgHa.AspNetCore;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text with Patroni 3.x's metric names, help texts and types, so existing dashboards and
/// alerts work. Labels are <c>scope</c> and <c>name</c> (Patroni 3.0.2 has only <c>scope</c>; 3.1+ adds <c>name</c>).
/// </summary>
public static class MetricsDocument
{
    /// <summary>The exposition text for <paramref name="node"/> at <paramref name="now"/>.</summary>
    public static string Build(NodeSnapshot node, DateTimeOffset now)
    {
        var pg = node.Postgres;
        var running = StatusDocument.State(node) == "running";
        var primary = pg.IsRunning && pg.Role == PostgresRole.Primary;
        var replica = pg.IsRunning && pg.Role == PostgresRole.Replica;
        var labels = $"{{scope=\"{Escape(node.Scope)}\",name=\"{Escape(node.Identity.Name)}\"}}";
        var sb = new StringBuilder();
        void Metric(string name, string type, string help, string value)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            sb.Append(name).Append(labels).Append(' ').Append(value).Append('\n');
        }
        static string B(bool b) => b ? "1" : "0";
        static string L(long v) => v.ToString(CultureInfo.InvariantCulture);

        Metric("patroni_version", "gauge", "Patroni semver without periods.", PaddedVersion(node.AgentVersion));
        Metric("patroni_postgres_running", "gauge", "Value is 1 if Postgres is running, 0 otherwise.", B(running));
        var started = pg.IsRunning && pg.PostmasterStartTime is { } t ? (t - DateTimeOffset.UnixEpoch).TotalSeconds : 0;
        Metric("patroni_postmaster_start_time", "gauge", "Epoch seconds since Postgres started.", started.ToString("0.0#####", CultureInfo.InvariantCulture));
        Metric("patroni_master", "gauge", "Value is 1 if this node is the leader, 0 otherwise.", B(primary));
        Metric("patroni_primary", "gauge", "Value is 1 if this node is the leader, 0 otherwise.", B(primary));
        Metric("patroni_xlog_location", "counter", "Current location of the Postgres transaction log, 0 if this node is not the leader.", L(primary ? pg.Lsn : 0));
        var standbyLeader = replica && node.IsStandbyLeader(now);
        Metric("patroni_standby_leader", "gauge", "Value is 1 if this node is the standby_leader, 0 otherwise.", B(standbyLeader));
        Metric("patroni_replica", "gauge", "Value is 1 if this node is a replica, 0 otherwise.", B(replica && !standbyLeader));
        Metric("patroni_sync_standby", "gauge", "Value is 1 if this node is a sync standby replica, 0 otherwise.", B(replica && node.IsSyncStandby));
        Metric("patroni_xlog_received_location", "counter", "Current location of the received Postgres transaction log, 0 if this node is not a replica.", L(replica ? pg.ReceivedLsn ?? pg.Lsn : 0));
        Metric("patroni_xlog_replayed_location", "counter", "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.", L(replica ? pg.ReplayedLsn ?? pg.Lsn : 0));
        Metric("patroni_xlog_replayed_timestamp", "gauge", "Current timestamp of the replayed Postgres transaction log, 0 if null.", "0");
        Metric("patroni_xlog_paused", "gauge", "Value is 1 if the Postgres xlog is paused, 0 otherwise.", "0");
        Metric("patroni_postgres_streaming", "gauge", "Value is 1 if Postgres is streaming, 0 otherwise.", B(replica && pg.IsStreaming));
        Metric("patroni_postgres_in_archive_recovery", "gauge", "Value is 1 if Postgres is replicating from archive, 0 otherwise.", B(replica && !pg.IsStreaming));
        Metric("patroni_postgres_server_version", "gauge", "Version of Postgres (if running), 0 otherwise.", (pg.IsRunning ? pg.ServerVersion : 0).ToString(CultureInfo.InvariantCulture));
        Metric("patroni_cluster_unlocked", "gauge", "Value is 1 if the cluster is unlocked, 0 if locked.", B(node.LastCycle?.Cluster is null or { IsUnlocked: true }));
        Metric("patroni_failsafe_mode_is_active", "gauge", "Value is 1 if failsafe mode is active, 0 if inactive.", B(node.Memory.Failsafe.IsActive(now, node.Settings.Ttl)));
        Metric("patroni_postgres_timeline", "counter", "Postgres timeline of this node (if running), 0 otherwise.", (pg.IsRunning ? pg.Timeline : 0).ToString(CultureInfo.InvariantCulture));
        Metric("patroni_dcs_last_seen", "gauge", "Epoch timestamp when DCS was last contacted successfully by Patroni.", L(node.Memory.LastDcsContact?.ToUnixTimeSeconds() ?? 0));
        Metric("patroni_pending_restart", "gauge", "Value is 1 if the node needs a restart, 0 otherwise.", B(!node.Memory.PendingRestart.IsDefaultOrEmpty));
        Metric("patroni_is_paused", "gauge", "Value is 1 if auto failover is disabled, 0 otherwise.", B(node.IsPaused));
        return sb.ToString();
    }

    /// <summary>Patroni's <c>patroni_version</c>: each dotted part zero-padded to two digits (3.0.2 → 030002).</summary>
    public static string PaddedVersion(string version) =>
        string.Concat(version.Split('.').Select(p => p.Length >= 2 ? p : p.PadLeft(2, '0')));

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
