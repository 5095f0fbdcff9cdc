using System.Collections.Immutable;

namespace PgHa.Cluster.Serialization;

/// <summary>
/// Builds a <see cref="ClusterState"/> from the raw keys of one cluster prefix. Every adapter uses it, so parsing,
/// tolerance of garbage and problem reporting are the same on every DCS.
/// </summary>
public static class ClusterStateReader
{
    /// <summary>Parses the entries; keys outside Patroni's layout are ignored, bad values are reported in <see cref="ClusterState.Problems"/>.</summary>
    public static ClusterState Read(IEnumerable<DcsEntry> entries)
    {
        var problems = new List<DcsDataProblem>();
        var members = new List<Member>();
        ClusterInitialize? initialize = null;
        GlobalConfig? config = null;
        LeaderLock? leader = null;
        ClusterStatus? status = null;
        long? legacyOptime = null;
        FailoverRequest? failover = null;
        SyncState? sync = null;
        TimelineHistory? history = null;
        FailsafeMembers? failsafe = null;

        foreach (var e in entries)
        {
            try
            {
                Apply(e);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The codecs do not throw on any input; this is the last line of defence, so one bad value can never
                // take the whole cluster view (and with it the HA loop) down.
                problems.Add(new DcsDataProblem(e.Key, $"could not be read ({ex.GetType().Name}: {ex.Message}); ignored"));
            }
        }

        void Apply(DcsEntry e)
        {
            var value = e.Value ?? "";
            switch (e.Key)
            {
                case ClusterKeys.Initialize: initialize = new ClusterInitialize(value.Trim(), e.Version); break;
                case ClusterKeys.Config: config = ConfigCodec.Parse(value, e.Version, problems); break;
                case ClusterKeys.Leader:
                    var holder = value.Trim();
                    if (holder.Length == 0) problems.Add(new DcsDataProblem(e.Key, "leader key is empty; treated as held by an unknown member until it expires"));
                    leader = new LeaderLock(holder, e.Version, e.Session);
                    break;
                case ClusterKeys.Status: status = StatusCodec.Parse(value, e.Version, problems); break;
                case ClusterKeys.LegacyOptime: legacyOptime = StatusCodec.ParseLegacyOptime(value, problems); break;
                case ClusterKeys.Failover: failover = FailoverCodec.Parse(value, e.Version, problems); break;
                case ClusterKeys.Sync: sync = SyncCodec.Parse(value, e.Version, problems); break;
                case ClusterKeys.History: history = HistoryCodec.Parse(value, e.Version, problems); break;
                case ClusterKeys.Failsafe: failsafe = FailsafeCodec.Parse(value, e.Version, problems); break;
                default:
                    if (e.Key.StartsWith(ClusterKeys.MembersPrefix, StringComparison.Ordinal))
                    {
                        var name = e.Key[ClusterKeys.MembersPrefix.Length..];
                        if (name.Length > 0 && !name.Contains('/'))
                            members.Add(MemberCodec.Parse(name, value, e.Version, e.Session, problems));
                    }
                    break;
            }
        }
        if (status is null && legacyOptime is not null)
            status = ClusterStatus.FromOptime(legacyOptime.Value);
        else if (status is { Optime: null } && legacyOptime is not null)
            status = status with { Optime = legacyOptime };

        members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new ClusterState
        {
            Initialize = initialize, Config = config, Leader = leader, Status = status, Members = members.ToImmutableArray(),
            Failover = failover, Sync = sync, History = history, Failsafe = failsafe, Problems = problems.ToImmutableArray(),
        };
    }
}
