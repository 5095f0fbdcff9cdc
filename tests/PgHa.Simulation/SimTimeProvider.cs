namespace PgHa.Simulation;

/// <summary>A <see cref="TimeProvider"/> whose clock and timers are the scheduler's, owned by one actor.</summary>
public sealed class SimTimeProvider(SimScheduler scheduler, SimActor? owner) : TimeProvider
{
    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => scheduler.Now;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp() => scheduler.NowTicks;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new SimTimer(scheduler, owner, callback, state, dueTime, period);

    private sealed class SimTimer : ITimer
    {
        private readonly SimScheduler _scheduler;
        private readonly SimActor? _owner;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private long _generation;
        private TimeSpan _period;

        public SimTimer(SimScheduler scheduler, SimActor? owner, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            (_scheduler, _owner, _callback, _state) = (scheduler, owner, callback, state);
            Change(dueTime, period);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var gen = ++_generation;
            _period = period;
            if (dueTime == Timeout.InfiniteTimeSpan) return true;
            Schedule(dueTime, gen);
            return true;
        }

        private void Schedule(TimeSpan due, long gen) => _scheduler.After(due, _owner, () =>
        {
            if (gen != _generation) return;
            _callback(_state);
            if (gen == _generation && _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan) Schedule(_period, gen);
        });

        public void Dispose() => _generation++;

        public ValueTask DisposeAsync()
        {
            _generation++;
            return ValueTask.CompletedTask;
        }
    }
}
