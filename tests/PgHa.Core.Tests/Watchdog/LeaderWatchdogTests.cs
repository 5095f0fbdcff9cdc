using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using PgHa.Simulation;
using PgHa.Watchdog;

namespace PgHa.Core.Tests.Watchdog;

/// <summary>Patroni's watchdog rules (patroni-compat.md §5.11) on a fake device that knows when it would have fired.</summary>
[TestFixture]
public sealed class LeaderWatchdogTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LoopWait = TimeSpan.FromSeconds(10);
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private (LeaderWatchdog Watchdog, FakeWatchdogDevice Device) Create(WatchdogMode mode, FakeWatchdogBehaviour behaviour = FakeWatchdogBehaviour.Working, int safetyMargin = 5, int fixedTimeout = 60)
    {
        var device = new FakeWatchdogDevice(_time, behaviour) { FixedTimeout = fixedTimeout };
        return (new LeaderWatchdog(new WatchdogOptions { Mode = mode, SafetyMargin = safetyMargin }, device), device);
    }

    [TestCase(30, 5, 25)]
    [TestCase(30, -1, 15)]
    [TestCase(10, 5, 5)]
    [TestCase(31, -1, 15)]
    public void TimeoutIsTtlMinusSafetyMarginOrHalfTheTtl(int ttl, int margin, int expected) =>
        Assert.That(WatchdogTiming.TimeoutSeconds(TimeSpan.FromSeconds(ttl), margin), Is.EqualTo(expected));

    [Test]
    public void KeepAliveActivatesWithTheDerivedTimeoutAndKeepsTheTimerFromFiring()
    {
        var (watchdog, device) = Create(WatchdogMode.Required);
        for (var cycle = 0; cycle < 20; cycle++)
        {
            Assert.That(watchdog.KeepAlive(Ttl, LoopWait), Is.True);
            _time.Advance(LoopWait);
        }
        Assert.That((device.Opens, device.Timeout, device.Keepalives.Count, watchdog.ActiveTimeout), Is.EqualTo((1, 25, 20, (int?)25)));
        Assert.That(device.CheckFired(), Is.False, "a keepalive every loop_wait keeps a 25 s watchdog from firing");
    }

    [Test]
    public void AnAgentThatStopsKeepingItAliveIsResetBeforeTheLockCanExpire()
    {
        var (watchdog, device) = Create(WatchdogMode.Required);
        watchdog.KeepAlive(Ttl, LoopWait);
        var last = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(26));
        Assert.That(device.CheckFired(), Is.True, "the fake device reports a keepalive interval beyond its timeout");
        Assert.That(device.FiredAt, Is.EqualTo(last + TimeSpan.FromSeconds(25)));
        Assert.That(device.FiredAt, Is.LessThan(last + Ttl), "it fires before the lock (ttl after the last renewal) can expire");
    }

    [Test]
    public void DisableDoesAMagicCloseAndTheNextLockReArmsIt()
    {
        var (watchdog, device) = Create(WatchdogMode.Automatic);
        watchdog.KeepAlive(Ttl, LoopWait);
        watchdog.Disable();
        Assert.That((watchdog.IsRunning, device.IsOpen, device.MagicCloses), Is.EqualTo((false, false, 1)));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.That(device.CheckFired(), Is.False, "a disarmed watchdog never fires");
        watchdog.KeepAlive(Ttl, LoopWait);
        Assert.That((watchdog.IsRunning, device.Opens), Is.EqualTo((true, 2)));
    }

    [Test]
    public void ModeOffNeverOpensTheDevice()
    {
        var (watchdog, device) = Create(WatchdogMode.Off, FakeWatchdogBehaviour.RegularFile);
        Assert.That((watchdog.KeepAlive(Ttl, LoopWait), watchdog.IsHealthy(Ttl, LoopWait), device.Opens), Is.EqualTo((true, true, 0)));
    }

    [TestCase(FakeWatchdogBehaviour.RegularFile)]
    [TestCase(FakeWatchdogBehaviour.IoctlFails)]
    public void RequiredWatchdogThatCannotBeActivatedMakesTheNodeIneligible(FakeWatchdogBehaviour behaviour)
    {
        var (watchdog, device) = Create(WatchdogMode.Required, behaviour);
        // A regular file is known to be unusable up front; a device whose ioctls fail only once it was tried.
        Assert.That(watchdog.IsHealthy(Ttl, LoopWait), Is.EqualTo(behaviour != FakeWatchdogBehaviour.RegularFile));
        Assert.That(watchdog.KeepAlive(Ttl, LoopWait), Is.False, "the lock may not be used");
        Assert.That((watchdog.IsHealthy(Ttl, LoopWait), watchdog.IsRunning, device.IsOpen), Is.EqualTo((false, false, false)));
        Assert.That(watchdog.LastFailure, Is.Not.Null);
        Assert.That(watchdog.KeepAlive(Ttl, LoopWait), Is.False, "the failure sticks for this timeout");
    }

    [TestCase(FakeWatchdogBehaviour.RegularFile)]
    [TestCase(FakeWatchdogBehaviour.IoctlFails)]
    public void AutomaticWatchdogThatCannotBeActivatedLetsTheNodeLeadWithoutIt(FakeWatchdogBehaviour behaviour)
    {
        var (watchdog, device) = Create(WatchdogMode.Automatic, behaviour);
        Assert.That((watchdog.KeepAlive(Ttl, LoopWait), watchdog.IsHealthy(Ttl, LoopWait), watchdog.IsRunning, device.IsOpen), Is.EqualTo((true, true, false, false)));
    }

    [Test]
    public void AFailedActivationIsRetriedOnceTheTimingChanges()
    {
        var (watchdog, device) = Create(WatchdogMode.Required, FakeWatchdogBehaviour.IoctlFails);
        Assert.That(watchdog.KeepAlive(Ttl, LoopWait), Is.False);
        device.Behaviour = FakeWatchdogBehaviour.Working;
        Assert.That(watchdog.IsHealthy(Ttl, LoopWait), Is.False, "same timing: still failed");
        var longer = TimeSpan.FromSeconds(40);
        Assert.That((watchdog.IsHealthy(longer, LoopWait), watchdog.KeepAlive(longer, LoopWait), device.Timeout), Is.EqualTo((true, true, 35)));
    }

    [Test]
    public void TimeoutShorterThanLoopWaitIsUnusable()
    {
        var (watchdog, device) = Create(WatchdogMode.Required, safetyMargin: 25);
        Assert.That((watchdog.IsHealthy(Ttl, LoopWait), watchdog.KeepAlive(Ttl, LoopWait), device.Opens), Is.EqualTo((false, false, 0)));
    }

    [Test]
    public void FixedTimeoutLongerThanTheLockIsUnsafeForRequiredButKeptForAutomatic()
    {
        var (required, _) = Create(WatchdogMode.Required, FakeWatchdogBehaviour.FixedTimeout, fixedTimeout: 60);
        Assert.That((required.KeepAlive(Ttl, LoopWait), required.IsHealthy(Ttl, LoopWait)), Is.EqualTo((false, false)));
        var (automatic, device) = Create(WatchdogMode.Automatic, FakeWatchdogBehaviour.FixedTimeout, fixedTimeout: 60);
        Assert.That((automatic.KeepAlive(Ttl, LoopWait), automatic.IsRunning, device.Timeout), Is.EqualTo((true, true, 60)));
    }

    [Test]
    public void FixedTimeoutShorterThanLoopWaitIsDisarmedEvenInAutomaticMode()
    {
        var (watchdog, device) = Create(WatchdogMode.Automatic, FakeWatchdogBehaviour.FixedTimeout, fixedTimeout: 5);
        Assert.That((watchdog.KeepAlive(Ttl, LoopWait), watchdog.IsRunning, device.IsOpen, device.MagicCloses), Is.EqualTo((true, false, false, 1)),
            "a watchdog that would reset a healthy leader is closed again");
    }

    [Test]
    public void AFailingKeepaliveEndsALeadershipThatRequiresTheWatchdog()
    {
        var (watchdog, _) = Create(WatchdogMode.Required, FakeWatchdogBehaviour.KeepaliveFails);
        Assert.That(watchdog.KeepAlive(Ttl, LoopWait), Is.True, "activation works");
        Assert.That((watchdog.KeepAlive(Ttl, LoopWait), watchdog.IsHealthy(Ttl, LoopWait)), Is.EqualTo((false, false)));
    }

    [Test]
    public void TtlChangeWhileArmedResetsTheTimeout()
    {
        var (watchdog, device) = Create(WatchdogMode.Required);
        watchdog.KeepAlive(Ttl, LoopWait);
        watchdog.KeepAlive(TimeSpan.FromSeconds(60), LoopWait);
        Assert.That((device.Timeout, device.Opens, watchdog.ActiveTimeout), Is.EqualTo((55, 1, (int?)55)));
    }
}
