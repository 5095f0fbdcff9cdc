using System.Globalization;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Simulation;

/// <summary>
/// The simulated DCS server: one cluster's keys with etcd-like semantics (global revision as version, leader and member
/// keys expiring <c>ttl</c> after the server processed the last acquire/renew/touch). It is the ground truth the
/// invariant checker compares nodes against.
/// </summary>
public sealed class SimDcsStore(SimScheduler scheduler)
{
    private readonly Dictionary<string, Entry> _keys = new(StringComparer.Ordinal);
    private long _revision;
    private readonly List<Action> _watchers = [];

    /// <summary>Planted fault for teeth tests: acquire ignores an unexpired lock held by someone else.</summary>
    public bool BrokenAcquireIgnoresHolder { get; set; }

    /// <summary>The last non-empty failover request written (the checker needs it after the winner cleared the key).</summary>
    public string? LastFailoverRequest { get; private set; }

    /// <summary>Number of requests served (for stats).</summary>
    public long Requests { get; private set; }

    /// <summary>The valid leader (holder, expiry), or null.</summary>
    public (string Holder, long ExpiresAtTicks)? Leader =>
        _keys.TryGetValue(ClusterKeys.Leader, out var e) && Alive(e) ? (e.Value, e.ExpiresAt) : null;

    private bool Alive(Entry e) => e.ExpiresAt == long.MaxValue || scheduler.NowTicks < e.ExpiresAt;

    private bool TryGetAlive(string key, out Entry e)
    {
        if (_keys.TryGetValue(key, out e!))
        {
            if (Alive(e)) return true;
            _keys.Remove(key);
            if (key == ClusterKeys.Leader) Notify();
        }
        return false;
    }

    /// <summary>All live entries.</summary>
    public List<DcsEntry> ReadAll()
    {
        Requests++;
        var list = new List<DcsEntry>(_keys.Count);
        var expired = (List<string>?)null;
        foreach (var (k, e) in _keys)
        {
            if (Alive(e)) list.Add(new DcsEntry(k, e.Value, new DcsVersion(e.Version.ToString(CultureInfo.InvariantCulture)), e.Owner));
            else (expired ??= []).Add(k);
        }
        if (expired is not null) foreach (var k in expired) _keys.Remove(k);
        return list;
    }

    /// <summary>Acquire: create-only.</summary>
    public LeaderLock? Acquire(string member, TimeSpan ttl)
    {
        Requests++;
        if (TryGetAlive(ClusterKeys.Leader, out var cur) && !BrokenAcquireIgnoresHolder) return null;
        _ = cur;
        var e = Put(ClusterKeys.Leader, member, member, scheduler.NowTicks + ttl.Ticks);
        Notify();
        return Lock(e);
    }

    /// <summary>Renew: holder and version must match.</summary>
    public LeaderLock? Renew(string member, LeaderLock held, TimeSpan ttl)
    {
        Requests++;
        if (!TryGetAlive(ClusterKeys.Leader, out var cur) || cur.Value != member || Ver(cur) != held.Version) return null;
        cur.ExpiresAt = scheduler.NowTicks + ttl.Ticks;
        return Lock(cur);
    }

    /// <summary>Release: holder must match.</summary>
    public bool Release(string member)
    {
        Requests++;
        if (!TryGetAlive(ClusterKeys.Leader, out var cur) || cur.Value != member) return false;
        _keys.Remove(ClusterKeys.Leader);
        Notify();
        return true;
    }

    /// <summary>Touch a member key.</summary>
    public void Touch(string member, string json, TimeSpan ttl)
    {
        Requests++;
        var key = ClusterKeys.Member(member);
        if (TryGetAlive(key, out var cur) && cur.Value == json) { cur.ExpiresAt = scheduler.NowTicks + ttl.Ticks; return; }
        Put(key, json, member, scheduler.NowTicks + ttl.Ticks);
    }

    /// <summary>Conditional write.</summary>
    public bool Write(string key, string value, WriteCondition condition)
    {
        Requests++;
        var exists = TryGetAlive(key, out var cur);
        if (!Holds(condition, exists, cur)) return false;
        Put(key, value, null, long.MaxValue);
        if (key == ClusterKeys.Failover && value != "{}") LastFailoverRequest = value;
        if (key is ClusterKeys.Config or ClusterKeys.Failover) Notify();
        return true;
    }

    /// <summary>Conditional delete.</summary>
    public bool Delete(string key, WriteCondition condition)
    {
        Requests++;
        var exists = TryGetAlive(key, out var cur);
        if (!exists || !Holds(condition, exists, cur)) return false;
        _keys.Remove(key);
        return true;
    }

    /// <summary>Registers a one-shot wake-up on the next leader/config/failover change.</summary>
    public void OnNextChange(Action wake) => _watchers.Add(wake);

    /// <summary>Unregisters a wake-up.</summary>
    public void CancelWatch(Action wake) => _watchers.Remove(wake);

    /// <summary>Expires keys whose time has come, waking watchers when the leader key vanishes (etcd sends a delete event).</summary>
    public void ExpireNow() => TryGetAlive(ClusterKeys.Leader, out _);

    private static bool Holds(WriteCondition c, bool exists, Entry? cur) => c.Kind switch
    {
        WriteConditionKind.Always => true,
        WriteConditionKind.Absent => !exists,
        _ => exists && Ver(cur!) == c.Version,
    };

    private void Notify()
    {
        if (_watchers.Count == 0) return;
        var list = _watchers.ToArray();
        _watchers.Clear();
        foreach (var w in list) w();
    }

    private Entry Put(string key, string value, string? owner, long expiresAt)
    {
        var e = new Entry { Value = value, Owner = owner, ExpiresAt = expiresAt, Version = ++_revision };
        _keys[key] = e;
        return e;
    }

    private static DcsVersion Ver(Entry e) => new(e.Version.ToString(CultureInfo.InvariantCulture));
    private static LeaderLock Lock(Entry e) => new(e.Value, Ver(e), e.Owner);

    private sealed class Entry
    {
        public required string Value;
        public string? Owner;
        public long ExpiresAt;
        public long Version;
    }
}
