namespace PgHa.Dcs.Etcd;

/// <summary>
/// The keys of one cluster prefix as of one etcd revision, kept current by a watch stream (Patroni's etcd3 KV cache),
/// and the wake-up signal for decision keys. Thread-safe; no I/O. <see cref="EtcdDcs"/> feeds it; this class only keeps
/// the bookkeeping that makes it correct:
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>Exact state.</b> The content is the prefix as of <see cref="Revision"/>: a linearizable range read at revision
/// R merged with <see cref="Merge"/>, plus every watch event after R applied in order with <see cref="Apply"/>. etcd
/// delivers a watch's events in revision order and never splits one revision over two responses, so after each response
/// the content is the prefix at the last event's revision.</item>
/// <item><b>No gap.</b> A stream is (re)started from <see cref="Revision"/> + 1, so it delivers everything the content
/// lacks; a compacted start (<see cref="Compacted"/>) drops the content, and only a new range read restores it.</item>
/// <item><b>Trusted only while fresh.</b> <see cref="TryRead"/> answers only while a stream is live
/// (<see cref="StreamCreated"/>, not <see cref="StreamEnded"/>) and a range read issued after that stream was created
/// has been merged: events that happened while no stream ran (an outage, a reconnect) may still be on their way, and that
/// read contains them. From then on the content lags etcd only by the watch's delivery delay.</item>
/// <item><b>Read your writes.</b> <see cref="TryRead"/> takes the revision of the caller's own last write and refuses a
/// content older than it; <see cref="WaitForRevisionAsync"/> waits for the stream to deliver it.</item>
/// <item><b>Wake-ups.</b> Every event on a decision key (and every possibly missed event: a compaction, a re-based
/// content) raises <see cref="DecisionChangeRevision"/> and completes the current signal, so a waiter compares that
/// revision with the revision of its last read and misses nothing in between.</item>
/// </list>
/// </remarks>
internal sealed class EtcdKvCache
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _decisionKeys;
    private readonly Dictionary<string, EtcdKeyValue> _kvs = new(StringComparer.Ordinal);
    private long _revision;              // the content is the prefix at this revision; 0 = no content
    private bool _rebaseWakes;           // the content was dropped after a compaction: the next base may hide changes
    private long _decisionChange;        // highest revision at which a decision key changed (or may have)
    private long _wakeAll;               // bumped when revisions cannot be compared (etcd went back): wakes every waiter
    private long _epoch;                 // bumped when a stream is created or ends
    private bool _live;                  // a stream created in _epoch is delivering
    private bool _fresh;                 // a range read issued during the live epoch was merged
    private TaskCompletionSource _changed = NewSignal();   // completed at each decision change
    private TaskCompletionSource _moved = NewSignal();     // completed at each change of content or stream state

    /// <param name="decisionKeys">The full keys whose change wakes <see cref="WaitForDecisionChangeAsync"/> (leader, config, failover).</param>
    public EtcdKvCache(IEnumerable<string> decisionKeys) => _decisionKeys = new(decisionKeys, StringComparer.Ordinal);

    /// <summary>The revision the content is exact at; 0 when there is no content.</summary>
    public long Revision
    {
        get
        {
            lock (_gate) return _revision;
        }
    }

    /// <summary>Whether there is content a stream can resume from (<see cref="Revision"/> + 1).</summary>
    public bool HasContent
    {
        get
        {
            lock (_gate) return _revision > 0;
        }
    }

    /// <summary>The highest revision at which a decision key changed, or may have changed unseen.</summary>
    public long DecisionChangeRevision
    {
        get
        {
            lock (_gate) return _decisionChange;
        }
    }

    /// <summary>Whether <see cref="TryRead"/> may answer from the content (ignoring the caller's own writes).</summary>
    public bool IsTrusted
    {
        get
        {
            lock (_gate) return _live && _fresh && _revision > 0;
        }
    }

    /// <summary>The epoch of the live stream while the content is trusted, else -1: a later <see cref="Confirms"/> with it holds only if that stream stayed up.</summary>
    public long TrustedEpoch
    {
        get
        {
            lock (_gate) return _live && _fresh && _revision > 0 ? _epoch : -1;
        }
    }

    /// <summary>
    /// Whether the content is still trusted under the stream of <paramref name="epoch"/> (no reconnect since), includes
    /// the caller's own write at <paramref name="ownWriteRevision"/>, and holds <paramref name="key"/> with exactly this
    /// value, mod revision and lease.
    /// </summary>
    public bool Confirms(string key, string value, long modRevision, long lease, long epoch, long ownWriteRevision)
    {
        lock (_gate)
        {
            return _live && _fresh && _epoch == epoch && _revision > 0 && _revision >= ownWriteRevision
                && _kvs.TryGetValue(key, out var kv) && string.Equals(kv.Value, value, StringComparison.Ordinal) && kv.ModRevision == modRevision && kv.Lease == lease;
        }
    }

    /// <summary>What a range read must note before it is sent, for <see cref="Merge"/>.</summary>
    public ReadTicket BeginRead()
    {
        lock (_gate) return new ReadTicket(_revision, _live ? _epoch : -1);
    }

    /// <summary>
    /// Merges a linearizable range read of the whole prefix, answered at <paramref name="revision"/> and begun with
    /// <paramref name="ticket"/>. It replaces the content unless the stream already delivered something newer (a read
    /// answered before the stream's later events arrived), and makes a live stream's content trusted when it was issued
    /// while that stream was live.
    /// </summary>
    /// <returns>
    /// False when etcd went back in time: the read is older than content that existed before it was sent, which only a
    /// restore from a backup does. The content is then replaced anyway and the caller must restart the stream.
    /// </returns>
    public bool Merge(IEnumerable<EtcdKeyValue> kvs, long revision, ReadTicket ticket)
    {
        lock (_gate)
        {
            var consistent = revision >= ticket.Revision;
            if (revision >= _revision || !consistent)
            {
                var before = _decisionKeys.ToDictionary(k => k, k => _kvs.TryGetValue(k, out var old) ? old.ModRevision : 0);
                _kvs.Clear();
                foreach (var kv in kvs) _kvs[kv.Key] = kv;
                // A change the read shows is one the stream will now skip: signal it here. A deletion's own revision
                // is not in the read; the read's revision bounds it.
                if (_revision > 0)
                {
                    foreach (var (key, modRevision) in before)
                    {
                        var now = _kvs.TryGetValue(key, out var kv) ? kv.ModRevision : 0;
                        if (now != modRevision) RaiseDecisionChange(now > 0 ? now : revision);
                    }
                }
                _revision = revision;
                if (_rebaseWakes) RaiseDecisionChange(revision);
                _rebaseWakes = false;
            }
            if (!consistent)
            {
                // Revisions from before the restore mean nothing now: wake every waiter, and compare afresh from here.
                _fresh = false;
                _wakeAll++;
                _decisionChange = revision;
                RaiseDecisionChange(revision);
            }
            else if (_live && ticket.Epoch == _epoch)
                _fresh = true;
            Move();
            return consistent;
        }
    }

    /// <summary>
    /// A stream was created (etcd confirmed it); it delivers from <see cref="Revision"/> + 1 on. Refused (false) when
    /// <paramref name="stream"/> was already cancelled: that stream is ending.
    /// </summary>
    public bool StreamCreated(CancellationToken stream)
    {
        lock (_gate)
        {
            if (stream.IsCancellationRequested) return false;
            _epoch++;
            _live = true;
            _fresh = false;
            Move();
            return true;
        }
    }

    /// <summary>The stream ended (failed, was cancelled or closed): nothing is trusted until a new one is created and a read merged.</summary>
    public void StreamEnded()
    {
        lock (_gate)
        {
            if (!_live) return;
            _epoch++;
            _live = false;
            _fresh = false;
            Move();
        }
    }

    /// <summary>Applies one watch response's events (in order) and raises the decision signal for decision keys changed after the content's revision.</summary>
    public void Apply(IReadOnlyList<EtcdEvent> events)
    {
        lock (_gate)
        {
            if (_revision == 0) return; // no content to apply to: the stream is restarted after a compaction anyway
            var baseline = _revision;
            var newest = baseline;
            foreach (var e in events)
            {
                var kv = e.Kv;
                if (kv.ModRevision <= baseline) continue; // already in a range read merged meanwhile
                if (e.IsDelete) _kvs.Remove(kv.Key);
                else _kvs[kv.Key] = kv;
                newest = Math.Max(newest, kv.ModRevision);
                if (_decisionKeys.Contains(kv.Key)) RaiseDecisionChange(kv.ModRevision);
            }
            _revision = newest;
            Move();
        }
    }

    /// <summary>
    /// The stream's start revision was compacted: events before <paramref name="compactRevision"/> are gone, so the
    /// content is dropped (until a new range read) and every waiter wakes, as a change may have been missed.
    /// </summary>
    public void Compacted(long compactRevision)
    {
        lock (_gate)
        {
            _kvs.Clear();
            _revision = 0;
            _rebaseWakes = true;
            _fresh = false;
            RaiseDecisionChange(compactRevision);
            Move();
        }
    }

    /// <summary>
    /// The content in etcd's key order with its revision, if it is trusted and includes the caller's own write at
    /// <paramref name="ownWriteRevision"/>; otherwise false and the caller reads from etcd.
    /// </summary>
    public bool TryRead(long ownWriteRevision, out EtcdKeyValue[] kvs, out long revision)
    {
        lock (_gate)
        {
            if (!_live || !_fresh || _revision == 0 || _revision < ownWriteRevision)
            {
                kvs = [];
                revision = 0;
                return false;
            }
            kvs = [.. _kvs.Values];
            revision = _revision;
        }
        Array.Sort(kvs, static (a, b) => CompareAsUtf8(a.Key, b.Key));
        return true;
    }

    /// <summary>
    /// Waits until the trusted content reaches <paramref name="revision"/>: true when it did, false when the content is
    /// no longer trusted or <paramref name="timeout"/> passed first.
    /// </summary>
    public async Task<bool> WaitForRevisionAsync(long revision, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            Task moved;
            lock (_gate)
            {
                if (!_live || !_fresh || _revision == 0) return false;
                if (_revision >= revision) return true;
                moved = _moved.Task;
            }
            var left = timeout - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return false;
            try
            {
                await moved.WaitAsync(left, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Waits until a decision key changed after <paramref name="afterRevision"/> (true), or <paramref name="timeout"/>
    /// passed (false; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever). Changes at or before that revision were
    /// already read, so they do not wake.
    /// </summary>
    public async Task<bool> WaitForDecisionChangeAsync(long afterRevision, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long wakeAll;
        lock (_gate) wakeAll = _wakeAll;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_decisionChange > afterRevision || _wakeAll != wakeAll) return true;
                changed = _changed.Task;
            }
            var left = timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout - time.GetElapsedTime(started);
            if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero) return false;
            try
            {
                await changed.WaitAsync(left, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    // Caller holds _gate.
    private void RaiseDecisionChange(long revision)
    {
        if (revision > _decisionChange) _decisionChange = revision;
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    // Caller holds _gate.
    private void Move()
    {
        var moved = _moved;
        _moved = NewSignal();
        moved.TrySetResult();
    }

    /// <summary>etcd's key order: by UTF-8 bytes, which is the order of the code points (UTF-16 order differs above U+D7FF).</summary>
    internal static int CompareAsUtf8(string a, string b)
    {
        var left = a.EnumerateRunes();
        var right = b.EnumerateRunes();
        while (true)
        {
            var more = left.MoveNext();
            if (more != right.MoveNext()) return more ? 1 : -1;
            if (!more) return 0;
            var order = left.Current.Value.CompareTo(right.Current.Value);
            if (order != 0) return order;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the content was when a range read was sent: its revision, and the live stream's epoch (-1 when none was live).</summary>
    public readonly record struct ReadTicket(long Revision, long Epoch);
}
