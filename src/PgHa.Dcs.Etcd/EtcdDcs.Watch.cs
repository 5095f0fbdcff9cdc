namespace PgHa.Dcs.Etcd;

// The connection's one long-lived watch of the cluster prefix, feeding _cache (see EtcdKvCache and the class remarks).
public sealed partial class EtcdDcs
{
    private static readonly TimeSpan WatchRetryMin = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WatchRetryMax = TimeSpan.FromSeconds(2);
    // How long a load waits for the watch to deliver this connection's own last write before reading from etcd.
    private static readonly TimeSpan OwnWriteDeliveryWait = TimeSpan.FromSeconds(1);

    private readonly Lock _watchGate = new();
    private readonly CancellationTokenSource _stopWatching = new();
    private Task? _watchLoop;                  // set once, under _watchGate
    private CancellationTokenSource? _stream;  // ends the current stream; under _watchGate

    /// <summary>Starts the watch loop unless it runs (or the connection is disposed).</summary>
    private void StartWatching()
    {
        if (Volatile.Read(ref _watchLoop) is not null) return;
        lock (_watchGate)
        {
            if (_watchLoop is not null || _disposed) return;
            var stop = _stopWatching.Token;
            Volatile.Write(ref _watchLoop, Task.Run(() => WatchLoopAsync(stop), CancellationToken.None));
        }
    }

    /// <summary>Ends the current stream (the loop re-creates it after its pause) and stops loads trusting the copy until then.</summary>
    private void RestartWatchStream()
    {
        CancellationTokenSource? stream;
        lock (_watchGate) stream = _stream;
        if (stream is null) return;
        try
        {
            stream.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That stream has just ended by itself.
        }
        // After the cancel: a stream confirmed concurrently is either refused by the cache or ended here.
        _cache.StreamEnded();
    }

    /// <summary>Keeps one stream up until the connection is disposed: (re)reads the prefix when there is no copy, watches from the copy's revision + 1, pauses after failures.</summary>
    private async Task WatchLoopAsync(CancellationToken stop)
    {
        var delay = WatchRetryMin;
        while (!stop.IsCancellationRequested)
        {
            long? createdAt = null;
            try
            {
                if (!_cache.HasContent) await ReadBaseAsync(stop).ConfigureAwait(false);
                await WatchStreamAsync(t => createdAt = t, stop).ConfigureAwait(false);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.WatchFailed(_logger, _endpoints, Describe(ex), delay);
            }
            finally
            {
                _cache.StreamEnded();
            }

            // A stream that stayed up a while was healthy: the next failure starts the back-off afresh.
            if (createdAt is { } created && _time.GetElapsedTime(created) >= WatchRetryMax) delay = WatchRetryMin;
            try
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, WatchRetryMax.Ticks));
        }
    }

    /// <summary>A range read that gives the copy its content when it has none (first start without a load, after a compaction).</summary>
    private async Task ReadBaseAsync(CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(_requestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        var ticket = _cache.BeginRead();
        var response = await RetryWhileUnavailableAsync(c => _client.RangeAsync(_prefix, _prefixEnd, c), linked.Token).ConfigureAwait(false);
        if (!_cache.Merge(response.Kvs, response.Revision, ticket)) StartOverAfterStoreWentBack(response.Revision, ticket.Revision);
    }

    /// <summary>
    /// One stream from the copy's revision + 1: applies events until it fails (throws) or is cancelled for a compacted
    /// start revision (returns; the copy is dropped and read again). Reports when etcd confirmed it through
    /// <paramref name="created"/>.
    /// </summary>
    private async Task WatchStreamAsync(Action<long> created, CancellationToken stop)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(stop);
        lock (_watchGate) _stream = stream;
        try
        {
            var start = _cache.Revision + 1;
            // hasleader: etcd ends the watch when its member has no raft leader, instead of letting it go silent.
            using var call = await _client.WatchAsync(_prefix, _prefixEnd, start, requireLeader: true, stream.Token).ConfigureAwait(false);
            while (await call.ReadAsync(stream.Token).ConfigureAwait(false) is { } response)
            {
                if (response.Canceled)
                {
                    if (response.CompactRevision <= 0)
                        throw new EtcdGatewayException(EtcdGatewayException.Unavailable, $"etcd cancelled the watch: {response.CancelReason}");
                    Log.WatchCompacted(_logger, _prefix, start, response.CompactRevision);
                    _cache.Compacted(response.CompactRevision);
                    return;
                }
                if (response.Created && _cache.StreamCreated(stream.Token))
                {
                    created(_time.GetTimestamp());
                    Log.WatchStarted(_logger, _prefix, start);
                }
                if (response.Events.Count > 0) _cache.Apply(response.Events);
            }
            throw new EtcdGatewayException(EtcdGatewayException.Unavailable, "etcd closed the watch stream");
        }
        finally
        {
            lock (_watchGate)
            {
                if (_stream == stream) _stream = null;
            }
        }
    }
}
