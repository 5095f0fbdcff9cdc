using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PgHa.Watchdog;

/// <summary>
/// The watchdog of one node, with Patroni's rules (patroni-compat.md §5.11): armed while the node holds the leader lock,
/// kept alive after every successful acquire or renewal, disarmed (magic close) when the node demotes, releases the lock,
/// is paused or has no running PostgreSQL. Its timeout is <see cref="WatchdogTiming.TimeoutSeconds"/>, so a leader that
/// stops renewing is reset before its lock can expire.
/// </summary>
/// <remarks>
/// <para><b>Usable</b> means: the timeout leaves room for one loop_wait, the device looks like a watchdog without
/// opening it (<see cref="IWatchdogDevice.LooksUsable"/>: for Linux, a writable character device), and the last
/// activation for the current timeout did not fail. Patroni only checks that the path is writable, so a regular file
/// counts as usable until the first promotion fails to activate it; judging it up front keeps a node with
/// <c>mode: required</c> out of the leader race instead of letting it win the lock, fail, and release it every cycle.
/// A failed activation (the ioctls fail, or no safe timeout can be set) sticks until the timeout changes (ttl or
/// loop_wait edited), since only then can another attempt end differently.</para>
/// <para>With <c>mode: automatic</c> an unusable watchdog is logged and the node leads without it; with
/// <c>mode: required</c> it is not eligible (<see cref="IsHealthy"/> false, reported as <c>watchdog_failed</c>).</para>
/// Thread-safe: the loop and its background actions call it concurrently.
/// </remarks>
public sealed class LeaderWatchdog : IDisposable
{
    private readonly object _gate = new();
    private readonly IWatchdogDevice _device;
    private readonly ILogger _logger;
    private int? _activeTimeout;
    private int? _failedTimeout;
    private string? _lastFailure;

    /// <summary>Creates the watchdog for <paramref name="device"/> (nothing is opened until the node leads).</summary>
    public LeaderWatchdog(WatchdogOptions options, IWatchdogDevice device, ILogger<LeaderWatchdog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        Options = options;
        _device = device;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The configuration.</summary>
    public WatchdogOptions Options { get; }

    /// <summary>True while the device is open and being kept alive.</summary>
    public bool IsRunning { get { lock (_gate) return _activeTimeout is not null; } }

    /// <summary>The timeout in seconds the device runs with, while <see cref="IsRunning"/>.</summary>
    public int? ActiveTimeout { get { lock (_gate) return _activeTimeout; } }

    /// <summary>Why the watchdog last could not be used, or null.</summary>
    public string? LastFailure { get { lock (_gate) return _lastFailure; } }

    /// <summary>
    /// Patroni's <c>is_healthy</c>: false only with <c>mode: required</c> and a watchdog that cannot be used with this
    /// timing. A node that is not healthy may not take the lock, and a leader steps down.
    /// </summary>
    public bool IsHealthy(TimeSpan ttl, TimeSpan loopWait)
    {
        if (Options.Mode != WatchdogMode.Required) return true;
        var timeout = WatchdogTiming.TimeoutSeconds(ttl, Options.SafetyMargin);
        lock (_gate)
        {
            if (_activeTimeout == timeout) return true;
            return WatchdogTiming.Slack(timeout, loopWait) >= TimeSpan.Zero && _failedTimeout != timeout && _device.LooksUsable();
        }
    }

    /// <summary>
    /// Called after every confirmed acquire or renewal of the leader lock: activates the device if it is not running
    /// yet (or its timeout must change) and sends a keepalive. False when <c>mode: required</c> and the watchdog could
    /// not be armed or kept alive: the node must then not act as the leader.
    /// </summary>
    public bool KeepAlive(TimeSpan ttl, TimeSpan loopWait)
    {
        if (Options.Mode == WatchdogMode.Off) return true;
        var timeout = WatchdogTiming.TimeoutSeconds(ttl, Options.SafetyMargin);
        lock (_gate)
        {
            if (_activeTimeout == timeout)
            {
                try
                {
                    _device.Keepalive();
                    return true;
                }
                catch (WatchdogDeviceException ex)
                {
                    return Failed(timeout, "keepalive failed: " + ex.Message);
                }
            }
            if (_failedTimeout == timeout) return Options.Mode != WatchdogMode.Required;
            return Activate(timeout, loopWait);
        }
    }

    /// <summary>Stops the timer (magic close) if it runs: the node no longer leads, is paused, or PostgreSQL is down.</summary>
    public void Disable()
    {
        lock (_gate)
        {
            if (_activeTimeout is null && !_device.IsOpen) return;
            var description = _device.Describe();
            try
            {
                _device.Disarm();
                WatchdogLog.Disabled(_logger, description);
            }
            catch (WatchdogDeviceException ex)
            {
                // The timer may still run: nothing more can be done from here, the next activation opens it again.
                WatchdogLog.DisableFailed(_logger, ex.Message);
            }
            _activeTimeout = null;
        }
    }

    /// <summary>Disarms the device.</summary>
    public void Dispose() => Disable();

    private bool Activate(int timeout, TimeSpan loopWait)
    {
        var slack = WatchdogTiming.Slack(timeout, loopWait);
        if (slack < TimeSpan.Zero)
            return Failed(timeout, $"the watchdog timeout ({timeout} s = ttl - safety_margin) is shorter than loop_wait ({loopWait.TotalSeconds:0} s)");
        // Never open (or write the magic character into) something that is no watchdog, such as a regular file.
        if (!_device.IsOpen && !_device.LooksUsable())
            return Failed(timeout, "it is not a writable watchdog device");
        try
        {
            _device.Open();
            var support = _device.GetSupport();
            var actual = support.CanSetTimeout ? _device.SetTimeout(timeout) : _device.GetTimeout();
            if (support.CanSetTimeout && actual <= 0) actual = _device.GetTimeout();
            // A timer that fires later than asked would not reset the node before its lock can expire; one that fires
            // within loop_wait would reset a healthy leader.
            if (actual < loopWait.TotalSeconds)
                return Failed(timeout, $"the device's timeout of {actual} s is shorter than loop_wait ({loopWait.TotalSeconds:0} s)");
            if (actual > timeout)
            {
                if (Options.Mode == WatchdogMode.Required)
                    return Failed(timeout, $"the device's timeout of {actual} s cannot be set to {timeout} s, so it would not fire before the leader lock can expire");
                WatchdogLog.UnsafeTimeout(_logger, _device.Describe(), actual, timeout);
            }
            _device.Keepalive();
            _activeTimeout = timeout;
            _failedTimeout = null;
            _lastFailure = null;
            WatchdogLog.Activated(_logger, _device.Describe(), actual);
            return true;
        }
        catch (WatchdogDeviceException ex)
        {
            return Failed(timeout, ex.Message);
        }
    }

    private bool Failed(int timeout, string why)
    {
        if (_device.IsOpen)
        {
            try { _device.Disarm(); }
            catch (WatchdogDeviceException ex) { WatchdogLog.DisableFailed(_logger, ex.Message); }
        }
        _activeTimeout = null;
        _failedTimeout = timeout;
        _lastFailure = why;
        if (Options.Mode == WatchdogMode.Required)
        {
            WatchdogLog.RequiredButUnusable(_logger, _device.Describe(), why);
            return false;
        }
        WatchdogLog.Unusable(_logger, _device.Describe(), why);
        return true;
    }
}
