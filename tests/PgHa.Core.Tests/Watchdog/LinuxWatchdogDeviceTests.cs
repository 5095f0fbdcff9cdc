using NUnit.Framework;
using PgHa.Watchdog;

namespace PgHa.Core.Tests.Watchdog;

/// <summary>
/// The real Linux device through its P/Invoke calls, on paths that are not watchdogs: what "usable" means before and
/// after trying. (A real /dev/watchdog is not available to tests: opening one arms a timer that resets the machine.)
/// </summary>
[TestFixture]
public sealed class LinuxWatchdogDeviceTests
{
    [Test]
    public void ARegularFileIsNotUsableAndIsNeverOpened()
    {
        var path = Path.GetTempFileName();
        try
        {
            using var device = new LinuxWatchdogDevice(path);
            Assert.That(device.LooksUsable(), Is.False, "a regular file is not a character device");
            var watchdog = new LeaderWatchdog(new WatchdogOptions { Mode = WatchdogMode.Required, Device = path }, device);
            Assert.That(watchdog.IsHealthy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), Is.False);
            Assert.That(watchdog.KeepAlive(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), Is.False);
            Assert.That(watchdog.LastFailure, Is.EqualTo("it is not a writable watchdog device"));
            Assert.That((device.IsOpen, new FileInfo(path).Length), Is.EqualTo((false, 0L)), "never opened, nothing written into the file");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AMissingPathIsNotUsable()
    {
        using var device = new LinuxWatchdogDevice("/nonexistent/watchdog");
        Assert.That(device.LooksUsable(), Is.False);
        var ex = Assert.Throws<WatchdogDeviceException>(device.Open);
        Assert.That(ex!.Message, Does.StartWith("/nonexistent/watchdog: open failed: ").And.Contain("errno 2"));
    }

    [Test]
    public void ACharacterDeviceThatIsNoWatchdogLooksUsableUntilItsIoctlsFail()
    {
        if (!File.Exists("/dev/null")) Assert.Ignore("no /dev/null");
        using var device = new LinuxWatchdogDevice("/dev/null");
        Assert.That(device.LooksUsable(), Is.True, "/dev/null is a writable character device");
        var required = new LeaderWatchdog(new WatchdogOptions { Mode = WatchdogMode.Required, Device = "/dev/null" }, device);
        Assert.That(required.IsHealthy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(required.KeepAlive(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), Is.False, "WDIOC_GETSUPPORT fails with ENOTTY");
        Assert.That(required.LastFailure, Does.Contain("ioctl WDIOC_GETSUPPORT failed").And.Contain("errno 25"));
        Assert.That((required.IsHealthy(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), device.IsOpen), Is.EqualTo((false, false)),
            "after the failed activation the node is not eligible, and the descriptor is closed again");
    }
}
