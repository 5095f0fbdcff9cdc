using System.Globalization;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.AspNetCore;

/// <summary>
/// Builds the <c>GET /patroni</c> document (also the body of every health answer) with Patroni's fields and order,
/// so patronictl, HAProxy checks and — most importantly — Patroni peers in a leader race read it unchanged.
/// </summary>
public static class StatusDocument
{
    /// <summary>The document for <paramref name="node"/> at <paramref name="now"/>.</summary>
    public static JsonObject Build(NodeSnapshot node, DateTimeOffset now)
    {
        var pg = node.Postgres;
        var doc = new JsonObject { ["state"] = State(node) };
        if (pg.IsRunning && pg.PostmasterStartTime is { } started)
            doc["postmaster_start_time"] = started.ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);
        doc["role"] = pg.DataDirectory != DataDirectoryState.Initialized ? "uninitialized"
            : pg.Role == PostgresRole.Primary ? "master"
            : node.IsStandbyLeader(now) ? "standby_leader" : "replica";
        if (pg.IsRunning)
        {
            if (pg.ServerVersion > 0) doc["server_version"] = pg.ServerVersion;
            doc["xlog"] = pg.Role == PostgresRole.Primary
                ? new JsonObject { ["location"] = pg.Lsn }
                : new JsonObject
                {
                    ["received_location"] = pg.ReceivedLsn ?? pg.Lsn,
                    ["replayed_location"] = pg.ReplayedLsn ?? pg.Lsn,
                    ["replayed_timestamp"] = null,
                    ["paused"] = false,
                };
            if (pg.Role == PostgresRole.Replica && node.IsSyncStandby) doc["sync_standby"] = true;
            if (pg.Timeline > 0) doc["timeline"] = pg.Timeline;
            if (pg.Role == PostgresRole.Replica) doc["replication_state"] = pg.IsStreaming ? "streaming" : "in archive recovery";
        }
        if (node.LastCycle?.Cluster is { IsUnlocked: true }) doc["cluster_unlocked"] = true;
        if (node.Memory.Failsafe.IsActive(now, node.Settings.Ttl)) doc["failsafe_mode_is_active"] = true;
        if (node.Memory.LastDcsContact is { } seen) doc["dcs_last_seen"] = seen.ToUnixTimeSeconds();
        if (!node.Settings.Tags.Entries.IsDefaultOrEmpty)
        {
            var tags = new JsonObject();
            foreach (var (k, v) in node.Settings.Tags.Entries) tags[k] = JsonNode.Parse(v);
            doc["tags"] = tags;
        }
        if (pg.SystemId is not null) doc["database_system_identifier"] = pg.SystemId;
        if (!node.Memory.PendingRestart.IsDefaultOrEmpty)
        {
            doc["pending_restart"] = true;
            // Patroni 3.3+ explains the flag; older readers ignore the field.
            var reasons = new JsonObject();
            foreach (var p in node.Memory.PendingRestart) reasons[p.Name] = new JsonObject { ["old_value"] = p.OldValue, ["new_value"] = p.NewValue };
            doc["pending_restart_reason"] = reasons;
        }
        doc["patroni"] = new JsonObject { ["version"] = node.AgentVersion, ["scope"] = node.Scope, ["name"] = node.Identity.Name };
        if (node.ScheduledRestart is { } scheduled) doc["scheduled_restart"] = ScheduledRestartJson(scheduled);
        if (node.IsPaused) doc["pause"] = true;
        // Peers in a leader race (PgHa and Patroni) skip a member that says this.
        if (node.WatchdogFailed) doc["watchdog_failed"] = true;
        return doc;
    }

    /// <summary>The <c>scheduled_restart</c> object: <c>schedule</c> and the conditions given, as Patroni shows them.</summary>
    public static JsonObject ScheduledRestartJson(PgHa.Operations.ScheduledRestart scheduled)
    {
        var r = scheduled.Request;
        var obj = new JsonObject { ["schedule"] = PgHa.Cluster.Serialization.FailoverCodec.FormatIso(r.Schedule!.Value) };
        if (r.Role is not null) obj["role"] = r.Role;
        if (r.PostgresVersionText is not null) obj["postgres_version"] = r.PostgresVersionText;
        if (r.Timeout is { } t) obj["timeout"] = (long)t.TotalSeconds;
        if (r.RestartPending) obj["restart_pending"] = true;
        return obj;
    }

    /// <summary>Patroni's <c>state</c> of this node: running, stopped, starting, restarting, creating replica, …</summary>
    public static string State(NodeSnapshot node) => node.Memory.Busy?.Kind switch
    {
        BusyActionKind.Restart => "restarting",
        BusyActionKind.Reinitialize => "creating replica",
        BusyActionKind.Bootstrap => "initializing new cluster",
        BusyActionKind.CreateReplica => "creating replica",
        BusyActionKind.Start => "starting",
        BusyActionKind.Demote => node.Postgres.IsRunning ? "stopping" : "stopped",
        _ => node.Postgres.IsRunning ? "running" : "stopped",
    };
}
