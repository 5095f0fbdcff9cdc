using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Decisions;
using PgHa.Operations;

namespace PgHa.AspNetCore;

public sealed partial class RestApiServer
{
    // ---- /config ----------------------------------------------------------------------------------------------

    private async Task PatchConfigAsync(HttpContext context)
    {
        if (await ReadBodyAsync(context, optional: false).ConfigureAwait(false) is not { } patch) return;
        if (_options.Dcs is not { } dcs) { await WriteTextAsync(context, 503, NoDcs).ConfigureAwait(false); return; }
        var cluster = await WithDeadline(c => dcs.LoadClusterAsync(c), context.RequestAborted).ConfigureAwait(false);
        if (cluster.Config is not { } current || PatroniJson.TryParse(current.RawJson, out _) is not JsonObject data)
        {
            await WriteTextAsync(context, 503, "the config key is missing or not a JSON object; use PUT /config to write a whole one").ConfigureAwait(false);
            return;
        }
        if (JsonMergePatch.Apply(data, patch))
        {
            if (ValidateConfig(data) is { } problem)
            {
                await WriteTextAsync(context, 400, problem).ConfigureAwait(false);
                return;
            }
            var written = await WithDeadline(c => dcs.TryWriteAsync(ClusterKey.Config, PatroniJson.Serialize(data), WriteCondition.IfVersion(current.Version), c), context.RequestAborted).ConfigureAwait(false);
            if (!written)
            {
                await WriteTextAsync(context, 409, "the config key was changed by someone else meanwhile; read it again and retry").ConfigureAwait(false);
                return;
            }
        }
        _options.Operations?.Wake();
        await WriteJsonAsync(context, 200, data).ConfigureAwait(false);
    }

    private async Task PutConfigAsync(HttpContext context)
    {
        if (await ReadBodyAsync(context, optional: false).ConfigureAwait(false) is not { } config) return;
        if (_options.Dcs is not { } dcs) { await WriteTextAsync(context, 503, NoDcs).ConfigureAwait(false); return; }
        if (ValidateConfig(config) is { } problem)
        {
            await WriteTextAsync(context, 400, problem).ConfigureAwait(false);
            return;
        }
        var cluster = await WithDeadline(c => dcs.LoadClusterAsync(c), context.RequestAborted).ConfigureAwait(false);
        var value = PatroniJson.Serialize(config);
        var same = cluster.Config?.RawJson is { } raw && PatroniJson.TryParse(raw, out _) is JsonObject current && JsonNode.DeepEquals(current, config);
        if (!same)
        {
            bool written;
            try { written = await WithDeadline(c => dcs.TryWriteAsync(ClusterKey.Config, value, WriteCondition.Always, c), context.RequestAborted).ConfigureAwait(false); }
            catch (DcsUnavailableException) { written = false; }
            if (!written)
            {
                await WriteTextAsync(context, 502, "failed to write the config key into DCS").ConfigureAwait(false);
                return;
            }
        }
        _options.Operations?.Wake();
        await WriteJsonAsync(context, 200, config).ConfigureAwait(false);
    }

    /// <summary>
    /// Refuses a configuration the HA loop would have to ignore or that breaks the timing rule: wrong types for the keys
    /// PgHa reads, and <c>loop_wait + 2*retry_timeout &gt; ttl</c>. Keys PgHa does not know pass unchanged.
    /// </summary>
    private string? ValidateConfig(JsonObject data)
    {
        var problems = new List<DcsDataProblem>();
        var parsed = ConfigCodec.Parse(PatroniJson.Serialize(data), default, problems);
        if (problems.Count > 0) return "invalid configuration: " + string.Join("; ", problems.Select(p => p.Problem));
        if (data["postgresql"] is JsonObject pg && pg["parameters"] is { } parameters && parameters is not JsonObject)
            return "invalid configuration: postgresql.parameters must be an object";
        var snapshot = _options.Snapshot();
        var timing = HaTiming.Validate(TimeSpan.FromSeconds(parsed.Ttl), TimeSpan.FromSeconds(parsed.LoopWait), TimeSpan.FromSeconds(parsed.RetryTimeout), snapshot.Settings.FenceSafetyMargin);
        return timing.Count > 0 ? "invalid configuration: " + string.Join("; ", timing) : null;
    }

    // ---- /reload, /restart, /reinitialize -------------------------------------------------------------------------

    private async Task PostReloadAsync(HttpContext context)
    {
        _options.ReloadAgent?.Invoke();
        _options.Operations?.ReloadPostgres();
        await WriteTextAsync(context, 202, "reload scheduled").ConfigureAwait(false);
    }

    private async Task PostRestartAsync(HttpContext context)
    {
        if (await ReadBodyAsync(context, optional: true).ConfigureAwait(false) is not { } body) return;
        if (_options.Operations is not { } operations) { await WriteTextAsync(context, 503, NoOperations).ConfigureAwait(false); return; }
        if (_options.Snapshot().IsPaused && body.ContainsKey("schedule"))
        {
            await WriteTextAsync(context, 500, "Can't schedule restart in the paused state").ConfigureAwait(false);
            return;
        }
        var request = new RestartRequest();
        foreach (var (key, value) in body)
        {
            string? error = null;
            var status = 400;
            switch (key)
            {
                case "schedule":
                    (status, error, var at) = ParseSchedule(value, "restart");
                    request = request with { Schedule = at };
                    break;
                case "role":
                    if (Text(value) is "master" or "primary" or "replica") request = request with { Role = Text(value) };
                    else error = "PostgreSQL role should be either primary or replica";
                    break;
                case "postgres_version":
                    if (Text(value) is { } v && DynamicParameters.TryParsePostgresVersion(v, out var num))
                        request = request with { PostgresVersionBelow = num, PostgresVersionText = v };
                    else error = $"Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: {Describe(value)}";
                    break;
                case "timeout":
                    if (TryParseSeconds(value, out var seconds) && seconds > 0) request = request with { Timeout = TimeSpan.FromSeconds(seconds) };
                    else error = "Timeout should be a positive number of seconds";
                    break;
                case "restart_pending":
                    if (TryParseBool(value, out var pending)) request = request with { RestartPending = pending };
                    else error = "restart_pending should be a boolean";
                    break;
                default:
                    error = $"Unknown filter for the scheduled restart: {key}";
                    break;
            }
            if (error is not null)
            {
                await WriteTextAsync(context, status, error).ConfigureAwait(false);
                return;
            }
        }
        if (request.Schedule is null)
        {
            var result = await operations.RestartAsync(request, context.RequestAborted).ConfigureAwait(false);
            await WriteTextAsync(context, result.Succeeded ? 200 : 503, result.Message).ConfigureAwait(false);
        }
        else if (operations.ScheduleRestart(request))
            await WriteTextAsync(context, 202, "Restart scheduled").ConfigureAwait(false);
        else
            await WriteTextAsync(context, 409, "Another restart is already scheduled").ConfigureAwait(false);
    }

    private async Task DeleteRestartAsync(HttpContext context)
    {
        if (_options.Operations is not { } operations) { await WriteTextAsync(context, 503, NoOperations).ConfigureAwait(false); return; }
        if (operations.CancelScheduledRestart()) await WriteTextAsync(context, 200, "scheduled restart deleted").ConfigureAwait(false);
        else await WriteTextAsync(context, 404, "no restarts are scheduled").ConfigureAwait(false);
    }

    private async Task PostReinitializeAsync(HttpContext context)
    {
        if (await ReadBodyAsync(context, optional: true).ConfigureAwait(false) is not { } body) return;
        if (_options.Operations is not { } operations) { await WriteTextAsync(context, 503, NoOperations).ConfigureAwait(false); return; }
        var force = false;
        if (body["force"] is { } f && !TryParseBool(f, out force))
        {
            await WriteTextAsync(context, 400, "force should be a boolean").ConfigureAwait(false);
            return;
        }
        var refused = await operations.ReinitializeAsync(force, context.RequestAborted).ConfigureAwait(false);
        await WriteTextAsync(context, refused is null ? 200 : 503, refused ?? "reinitialize started").ConfigureAwait(false);
    }

    // ---- /switchover, /failover ---------------------------------------------------------------------------------

    private async Task PostFailoverAsync(HttpContext context, bool switchover)
    {
        var action = switchover ? "switchover" : "failover";
        var title = switchover ? "Switchover" : "Failover";
        if (await ReadBodyAsync(context, optional: false).ConfigureAwait(false) is not { } body) return;
        if (_options.Dcs is not { } dcs) { await WriteTextAsync(context, 503, NoDcs).ConfigureAwait(false); return; }
        string? leader = null, candidate = null;
        foreach (var field in new[] { "leader", "candidate", "member", "scheduled_at" })
        {
            if (body[field] is { } node && node.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Null))
            {
                await WriteTextAsync(context, 400, $"{field} should be a string, found {Describe(node)}").ConfigureAwait(false);
                return;
            }
        }
        leader = NonEmpty(Text(body["leader"]));
        candidate = NonEmpty(Text(body["candidate"])) ?? NonEmpty(Text(body["member"]));
        var scheduledText = NonEmpty(Text(body["scheduled_at"]));
        var cluster = await WithDeadline(c => dcs.LoadClusterAsync(c), context.RequestAborted).ConfigureAwait(false);

        var (status, error) = (400, (string?)null);
        if (!switchover && candidate is null) error = "Failover could be performed only to a specific candidate";
        else if (switchover && leader is null) error = "Switchover could be performed only from a specific leader";
        DateTimeOffset? scheduledAt = null;
        if (error is null && scheduledText is not null)
        {
            if (leader is null) error = $"Scheduled {action} is possible only from a specific leader";
            else if (cluster.IsPaused) error = $"Can't schedule {action} in the paused state";
            else (status, error, scheduledAt) = ParseSchedule(JsonValue.Create(scheduledText), action);
        }
        if (error is null && cluster.IsPaused && candidate is null) error = $"{title} is possible only to a specific candidate in a paused state";
        if (error is null && leader is not null && leader == candidate) error = $"{title} target and source are the same: {leader}";
        if (error is null && scheduledAt is null)
        {
            error = await FailoverImpossibleAsync(cluster, leader, candidate, action, context.RequestAborted).ConfigureAwait(false);
            if (error is not null) status = 412;
        }
        if (error is not null)
        {
            await WriteTextAsync(context, status, error).ConfigureAwait(false);
            return;
        }

        bool written;
        try
        {
            written = await WithDeadline(c => dcs.TrySetFailoverAsync(new FailoverRequest(leader, candidate, scheduledAt, default), WriteCondition.Always, c), context.RequestAborted).ConfigureAwait(false);
        }
        catch (DcsUnavailableException) { written = false; }
        if (!written)
        {
            await WriteTextAsync(context, 503, $"failed to write {action} key into DCS").ConfigureAwait(false);
            return;
        }
        _options.Operations?.Wake();
        if (scheduledAt is not null)
        {
            await WriteTextAsync(context, 202, $"{title} scheduled").ConfigureAwait(false);
            return;
        }
        var (code, message) = await PollFailoverResultAsync(dcs, cluster.LeaderName, candidate, switchover, context.RequestAborted).ConfigureAwait(false);
        await WriteTextAsync(context, code, message).ConfigureAwait(false);
    }

    /// <summary>Patroni's <c>is_failover_possible</c>: null when some candidate could take over, else why not.</summary>
    private async Task<string?> FailoverImpossibleAsync(ClusterState cluster, string? leader, string? candidate, string action, CancellationToken ct)
    {
        if (leader is not null && cluster.LeaderName != leader) return "leader name does not match";
        List<Member> members;
        var syncMode = cluster.IsSynchronousModeActive;
        if (candidate is not null)
        {
            if (action == "switchover" && syncMode && !cluster.Sync!.SyncStandbys.Contains(candidate)) return "candidate name does not match with sync_standby";
            if (cluster.GetMember(candidate) is not { } m) return "candidate does not exists";
            members = [m];
        }
        else if (syncMode)
        {
            members = cluster.Members.Where(m => cluster.Sync!.SyncStandbys.Contains(m.Name)).ToList();
            if (members.Count == 0) return $"{action} is not possible: can not find sync_standby";
        }
        else
        {
            members = cluster.Members.Where(m => m.Name != cluster.LeaderName && m.ApiUrl is not null).ToList();
            if (members.Count == 0) return $"{action} is not possible: cluster does not have members except leader";
        }
        var statuses = await Task.WhenAll(members.Select(m => StatusOfAsync(m, ct))).ConfigureAwait(false);
        return statuses.Any(s => s.Reachable && !s.Tags.NoFailover && !s.WatchdogFailed) ? null : $"{action} is not possible: no good candidates have been found";
    }

    private Task<PeerStatus> StatusOfAsync(Member member, CancellationToken ct)
    {
        var self = _options.Snapshot();
        if (member.Name == self.Identity.Name)
            return Task.FromResult(new PeerStatus(member.Name, true) { Tags = self.Settings.Tags, Lsn = self.Postgres.Lsn, Timeline = self.Postgres.Timeline });
        if (_options.Peers is { } peers) return peers.GetStatusAsync(member, _options.PeerStatusTimeout, ct);
        // Without a peer client the member key is the best evidence: a running member with an API.
        return Task.FromResult(new PeerStatus(member.Name, member.State == "running" && member.ApiUrl is not null) { Tags = member.Tags });
    }

    /// <summary>Patroni's <c>poll_failover_result</c>: re-reads the DCS until the leader changed or the request vanished.</summary>
    private async Task<(int, string)> PollFailoverResultAsync(IDcs dcs, string? oldLeader, string? candidate, bool switchover, CancellationToken ct)
    {
        var verb = switchover ? "switch" : "fail";
        var title = switchover ? "Switchover" : "Failover";
        var loopWait = _options.Snapshot().Settings.LoopWait;
        var until = Now + 2 * (loopWait > TimeSpan.FromSeconds(10) ? loopWait : TimeSpan.FromSeconds(10));
        while (Now < until)
        {
            await Task.Delay(_options.SwitchoverPollInterval, _options.TimeProvider, ct).ConfigureAwait(false);
            ClusterState cluster;
            try { cluster = await WithDeadline(c => dcs.LoadClusterAsync(c), ct).ConfigureAwait(false); }
            catch (DcsUnavailableException) { continue; }
            if (cluster.LeaderName is { } now && now != oldLeader)
            {
                return candidate is null || candidate == now
                    ? (200, $"Successfully {verb}ed over to \"{now}\"")
                    : (200, $"{char.ToUpperInvariant(verb[0])}{verb[1..]}ed over to \"{now}\" instead of \"{candidate}\"");
            }
            if (!cluster.HasFailoverRequest) return (503, $"{title} failed");
        }
        return (503, $"{title} status unknown");
    }

    private async Task DeleteSwitchoverAsync(HttpContext context)
    {
        if (_options.Dcs is not { } dcs) { await WriteTextAsync(context, 503, NoDcs).ConfigureAwait(false); return; }
        var cluster = await WithDeadline(c => dcs.LoadClusterAsync(c), context.RequestAborted).ConfigureAwait(false);
        if (cluster.Failover is not { ScheduledAt: not null } failover)
        {
            await WriteTextAsync(context, 404, "no switchover is scheduled").ConfigureAwait(false);
            return;
        }
        var cleared = await WithDeadline(c => dcs.TrySetFailoverAsync(FailoverRequest.Cleared, WriteCondition.IfVersion(failover.Version), c), context.RequestAborted).ConfigureAwait(false);
        if (!cleared) await WriteTextAsync(context, 409, "the failover key was changed by someone else meanwhile").ConfigureAwait(false);
        else await WriteTextAsync(context, 200, "scheduled switchover deleted").ConfigureAwait(false);
    }

    // ---- request parsing --------------------------------------------------------------------------------------------

    /// <summary>
    /// Reads a JSON object body as Patroni's <c>_read_json_content</c>: Content-Length required (411), a JSON object that
    /// is not empty unless <paramref name="optional"/> (400). Null when an error was already answered.
    /// </summary>
    private async Task<JsonObject?> ReadBodyAsync(HttpContext context, bool optional)
    {
        var length = context.Request.ContentLength;
        if (length is null)
        {
            if (optional) return [];
            await WriteTextAsync(context, 411, "Length Required: send the JSON body with a Content-Length").ConfigureAwait(false);
            return null;
        }
        if (length == 0 && optional) return [];
        if (length > _options.MaxRequestBodyBytes)
        {
            await WriteTextAsync(context, 413, $"Request body too large: at most {_options.MaxRequestBodyBytes} bytes are accepted").ConfigureAwait(false);
            return null;
        }
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        string text;
        try { text = new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length); }
        catch (DecoderFallbackException)
        {
            await WriteTextAsync(context, 400, "Bad request: the body is not UTF-8").ConfigureAwait(false);
            return null;
        }
        var node = PatroniJson.TryParse(text, out var error);
        if (node is JsonObject obj && (obj.Count > 0 || optional)) return obj;
        var found = node is null ? $"not valid JSON ({error})" : node is JsonObject ? "an empty object" : $"a JSON {node.GetValueKind().ToString().ToLowerInvariant()}";
        await WriteTextAsync(context, 400, $"Bad request: expected a non-empty JSON object, found {found}").ConfigureAwait(false);
        return null;
    }

    private const string NoDcs = "this endpoint needs the DCS, which this server was not given";
    private const string NoOperations = "this endpoint needs the HA loop, which this server was not given";

    /// <summary>Patroni's <c>parse_schedule</c>: an ISO time with an offset, not in the past.</summary>
    private (int Status, string? Error, DateTimeOffset? At) ParseSchedule(JsonNode? value, string action)
    {
        if (Text(value) is not { } text || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            return (422, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601", null);
        if (!FailoverCodec.TryParseIso(text, out var at))
            return (400, $"Timezone information is mandatory for the scheduled {action}", null);
        if (at < Now) return (422, $"Cannot schedule {action} in the past", null);
        return (0, null, at);
    }

    private static bool TryParseSeconds(JsonNode? value, out long seconds)
    {
        seconds = 0;
        if (value is null) return false;
        if (value.GetValueKind() == JsonValueKind.Number) return value.AsValue().TryGetValue(out seconds) || (value.AsValue().TryGetValue(out double d) && (seconds = (long)d) == d);
        if (Text(value) is not { } text) return false;
        text = text.Trim();
        var (number, factor) = text.EndsWith("min", StringComparison.Ordinal) ? (text[..^3], 60L)
            : text.EndsWith('h') ? (text[..^1], 3600L)
            : text.EndsWith('d') ? (text[..^1], 86400L)
            : text.EndsWith('s') ? (text[..^1], 1L)
            : (text, 1L);
        if (!long.TryParse(number.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || Math.Abs(n) > long.MaxValue / factor) return false;
        seconds = n * factor;
        return true;
    }

    /// <summary>Patroni's <c>parse_bool</c>: booleans, on/off, yes/no, true/false, 1/0 (text or number).</summary>
    private static bool TryParseBool(JsonNode? value, out bool result)
    {
        result = false;
        switch (value?.GetValueKind())
        {
            case JsonValueKind.True: result = true; return true;
            case JsonValueKind.False: return true;
            case JsonValueKind.Number when value.AsValue().TryGetValue(out long n) && n is 0 or 1: result = n == 1; return true;
            case JsonValueKind.String:
                switch (value.GetValue<string>().Trim().ToLowerInvariant())
                {
                    case "on" or "true" or "yes" or "1": result = true; return true;
                    case "off" or "false" or "no" or "0": return true;
                }
                return false;
            default: return false;
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string Describe(JsonNode? node) => node is null ? "null" : PatroniJson.Serialize(node);
}
