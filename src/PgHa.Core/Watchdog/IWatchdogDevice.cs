namespace PgHa.Watchdog;

/// <summary>
/// One watchdog device, in the terms of the Linux watchdog API: once opened the timer runs, every keepalive restarts it,
/// and it only stops on a "magic close" (the character <c>V</c> written before closing) if the driver supports that.
/// Closing without it, or dying with the device open, leaves the timer running: the machine is reset when it fires.
/// </summary>
/// <remarks>Not thread-safe; <see cref="LeaderWatchdog"/> serializes the calls. Failures throw <see cref="WatchdogDeviceException"/>.</remarks>
public interface IWatchdogDevice : IDisposable
{
    /// <summary>The device for log messages (path and driver identity once known).</summary>
    string Describe();

    /// <summary>
    /// Whether the device looks usable without opening it (opening starts the timer): it exists, can be written and is
    /// a watchdog-like device. Patroni asks the same before it counts a node with <c>mode: required</c> as eligible.
    /// </summary>
    bool LooksUsable();

    /// <summary>True while the device is open (the timer runs).</summary>
    bool IsOpen { get; }

    /// <summary>Opens the device, which starts its timer.</summary>
    void Open();

    /// <summary>What the driver supports (<c>WDIOC_GETSUPPORT</c>).</summary>
    WatchdogSupport GetSupport();

    /// <summary>Sets the timeout (<c>WDIOC_SETTIMEOUT</c>); returns the timeout the driver actually chose.</summary>
    int SetTimeout(int seconds);

    /// <summary>The current timeout (<c>WDIOC_GETTIMEOUT</c>).</summary>
    int GetTimeout();

    /// <summary>Restarts the timer.</summary>
    void Keepalive();

    /// <summary>Stops the timer with a magic close where the driver supports it, and closes the device.</summary>
    void Disarm();
}

/// <summary>The capabilities a watchdog driver reports.</summary>
/// <param name="Identity">The driver's name.</param>
/// <param name="CanSetTimeout"><c>WDIOF_SETTIMEOUT</c>: the timeout can be changed.</param>
/// <param name="MagicClose"><c>WDIOF_MAGICCLOSE</c>: writing <c>V</c> before closing stops the timer.</param>
/// <param name="KeepalivePing"><c>WDIOF_KEEPALIVEPING</c>: the keepalive ioctl is supported.</param>
public sealed record WatchdogSupport(string Identity, bool CanSetTimeout, bool MagicClose, bool KeepalivePing);
