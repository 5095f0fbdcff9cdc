using System.Collections.Immutable;

namespace PgHa.Cluster.Serialization;

/// <summary>
/// Builds a <see cref="ClusterState"/> from the raw keys of one cluster prefix. Every adapter uses it, so parsing,
/// tolerance of garbage and problem reporting are the same on every DCS.
/// </summary>
public static class ClusterStateReader
{
    /// <summary>Parses the entries; keys outside Patroni's layout are ignored, bad values are reported in <see cref="ClusterState.Problems"/>.</summary>
    public static ClusterState Read(IEnumerable<DcsEntry> entries) => Read(entries, previous: null);

    /// <summary>
    /// Parses the entries, reusing every value of <paramref name="previous"/> (the last view read from the same DCS)
    /// whose version and text are unchanged, with its problems: an idle cluster is then read without parsing any JSON.
    /// </summary>
    public static ClusterState Read(IEnumerable<DcsEntry> entries, ClusterState? previous)
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

        bool Reuse<T>(DcsEntry e, T? old, Func<T, DcsVersion> version, Func<T, string?> raw) where T : class
        {
            if (old is null || version(old) != e.Version || !string.Equals(raw(old), e.Value, StringComparison.Ordinal)) return false;
            foreach (var p in previous!.Problems)
                if (p.Key == e.Key) problems.Add(p);
            return true;
        }

        void Apply(DcsEntry e)
        {
            var value = e.Value ?? "";
            switch (e.Key)
            {
                case ClusterKeys.Initialize: initialize = new ClusterInitialize(value.Trim(), e.Version); break;
                case ClusterKeys.Config:
                    config = Reuse(e, previous?.Config, c => c.Version, c => c.RawJson) ? previous!.Config : ConfigCodec.Parse(value, e.Version, problems);
                    break;
                case ClusterKeys.Leader:
                    var holder = value.Trim();
                    if (holder.Length == 0) problems.Add(new DcsDataProblem(e.Key, "leader key is empty; treated as held by an unknown member until it expires"));
                    leader = new LeaderLock(holder, e.Version, e.Session);
                    break;
                case ClusterKeys.Status:
                    status = Reuse(e, previous?.Status, x => x.Version, x => x.RawJson) ? previous!.Status : StatusCodec.Parse(value, e.Version, problems);
                    break;
                case ClusterKeys.LegacyOptime: legacyOptime = StatusCodec.ParseLegacyOptime(value, problems); break;
                case ClusterKeys.Failover:
                    failover = Reuse(e, previous?.Failover, x => x.Version, x => x.RawJson) ? previous!.Failover : FailoverCodec.Parse(value, e.Version, problems);
                    break;
                case ClusterKeys.Sync:
                    sync = Reuse(e, previous?.Sync, x => x.Version, x => x.RawJson) ? previous!.Sync : SyncCodec.Parse(value, e.Version, problems);
                    break;
                case ClusterKeys.History:
                    history = Reuse(e, previous?.History, x => x.Version, x => x.RawJson) ? previous!.History : HistoryCodec.Parse(value, e.Version, problems);
                    break;
                case ClusterKeys.Failsafe:
                    failsafe = Reuse(e, previous?.Failsafe, x => x.Version, x => x.RawJson) ? previous!.Failsafe : FailsafeCodec.Parse(value, e.Version, problems);
                    break;
                default:
                    if (e.Key.StartsWith(ClusterKeys.MembersPrefix, StringComparison.Ordinal))
                    {
                        var name = e.Key[ClusterKeys.MembersPrefix.Length..];
                        if (name.Length > 0 && !name.Contains('/'))
                        {
                            var old = previous?.GetMember(name);
                            members.Add(old is not null && old.Session == e.Session && Reuse(e, old, m => m.Version, m => m.RawJson)
                                ? old : MemberCodec.Parse(name, value, e.Version, e.Session, problems));
                        }
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
