using PgHa.Watchdog;

namespace PgHa.Simulation;

/// <summary>How a <see cref="FakeWatchdogDevice"/> behaves.</summary>
public enum FakeWatchdogBehaviour
{
    /// <summary>A softdog-like device: settable timeout, magic close.</summary>
    Working,
    /// <summary>The path is a regular file: <see cref="IWatchdogDevice.LooksUsable"/> is false, every ioctl fails.</summary>
    RegularFile,
    /// <summary>Looks like a device (e.g. <c>/dev/null</c>) but the watchdog ioctls fail with ENOTTY.</summary>
    IoctlFails,
    /// <summary>A driver with a fixed timeout that cannot be changed (<see cref="FakeWatchdogDevice.FixedTimeout"/>).</summary>
    FixedTimeout,
    /// <summary>Activation works but every keepalive after the first fails.</summary>
    KeepaliveFails,
}

/// <summary>
/// A watchdog device for tests and the simulator: it records every open, timeout, keepalive and close on the given
/// clock, and knows when it would have fired (the time between two keepalives, or since the last one, exceeded the
/// timeout while it was open). It can be made to fail in the ways real devices do.
/// </summary>
public sealed class FakeWatchdogDevice : IWatchdogDevice
{
    private readonly TimeProvider _time;
    private int _timeout = 60;
    private DateTimeOffset? _lastKeepalive;

    /// <summary>Creates the device.</summary>
    public FakeWatchdogDevice(TimeProvider time, FakeWatchdogBehaviour behaviour = FakeWatchdogBehaviour.Working)
    {
        _time = time;
        Behaviour = behaviour;
    }

    /// <summary>How it behaves.</summary>
    public FakeWatchdogBehaviour Behaviour { get; set; }
    /// <summary>The timeout of a <see cref="FakeWatchdogBehaviour.FixedTimeout"/> driver.</summary>
    public int FixedTimeout { get; init; } = 60;
    /// <inheritdoc />
    public bool IsOpen { get; private set; }
    /// <summary>The timeout the device runs with.</summary>
    public int Timeout => Behaviour == FakeWatchdogBehaviour.FixedTimeout ? FixedTimeout : _timeout;
    /// <summary>Keepalives received (including the one at activation).</summary>
    public List<DateTimeOffset> Keepalives { get; } = [];
    /// <summary>Times the device was opened.</summary>
    public int Opens { get; private set; }
    /// <summary>Magic closes.</summary>
    public int MagicCloses { get; private set; }
    /// <summary>When it fired (a keepalive came too late, or <see cref="CheckFired"/> found it overdue); null if it never did.</summary>
    public DateTimeOffset? FiredAt { get; private set; }

    /// <inheritdoc />
    public string Describe() => $"fake watchdog ({Behaviour})";

    /// <inheritdoc />
    public bool LooksUsable() => Behaviour != FakeWatchdogBehaviour.RegularFile;

    /// <inheritdoc />
    public void Open()
    {
        if (IsOpen) return;
        IsOpen = true;
        Opens++;
        _lastKeepalive = _time.GetUtcNow(); // opening starts the timer
    }

    /// <inheritdoc />
    public WatchdogSupport GetSupport()
    {
        Require();
        if (Behaviour is FakeWatchdogBehaviour.RegularFile or FakeWatchdogBehaviour.IoctlFails)
            throw new WatchdogDeviceException("fake: ioctl WDIOC_GETSUPPORT failed: Inappropriate ioctl for device (errno 25)");
        return new WatchdogSupport("fake", Behaviour != FakeWatchdogBehaviour.FixedTimeout, true, true);
    }

    /// <inheritdoc />
    public int SetTimeout(int seconds)
    {
        Require();
        if (Behaviour == FakeWatchdogBehaviour.FixedTimeout) throw new WatchdogDeviceException("fake: ioctl WDIOC_SETTIMEOUT failed: Operation not supported");
        _timeout = seconds;
        return seconds;
    }

    /// <inheritdoc />
    public int GetTimeout()
    {
        Require();
        return Timeout;
    }

    /// <inheritdoc />
    public void Keepalive()
    {
        Require();
        if (Behaviour == FakeWatchdogBehaviour.KeepaliveFails && Keepalives.Count > 0)
            throw new WatchdogDeviceException("fake: keepalive write failed: Input/output error");
        CheckFired();
        if (!IsOpen) return;
        var now = _time.GetUtcNow();
        Keepalives.Add(now);
        _lastKeepalive = now;
    }

    /// <inheritdoc />
    public void Disarm()
    {
        if (!IsOpen) return;
        CheckFired();
        IsOpen = false;
        MagicCloses++;
        _lastKeepalive = null;
    }

    /// <summary>
    /// Whether the device has fired by now: open and not kept alive for longer than its timeout. A fired device resets
    /// the machine, so it counts as closed afterwards.
    /// </summary>
    public bool CheckFired()
    {
        if (IsOpen && _lastKeepalive is { } last && _time.GetUtcNow() - last > TimeSpan.FromSeconds(Timeout))
        {
            FiredAt ??= last + TimeSpan.FromSeconds(Timeout);
            IsOpen = false;
            _lastKeepalive = null;
        }
        return FiredAt is not null;
    }

    /// <inheritdoc />
    public void Dispose() { }

    private void Require()
    {
        if (!IsOpen) throw new WatchdogDeviceException("fake: the device is not open");
    }
}
