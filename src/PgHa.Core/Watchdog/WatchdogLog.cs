using Microsoft.Extensions.Logging;

namespace PgHa.Watchdog;

/// <summary>Stable event ids of the watchdog (26xx, next to the HA decisions' 2xxx).</summary>
public static class WatchdogEventId
{
    /// <summary>The watchdog was activated.</summary>
    public const int Activated = 2601;
    /// <summary>The watchdog was disarmed with a magic close.</summary>
    public const int Disabled = 2602;
    /// <summary>The watchdog could not be disarmed.</summary>
    public const int DisableFailed = 2603;
    /// <summary><c>mode: automatic</c> and the watchdog cannot be used: the node leads without it.</summary>
    public const int Unusable = 2604;
    /// <summary><c>mode: required</c> and the watchdog cannot be used: the node may not lead.</summary>
    public const int RequiredButUnusable = 2605;
    /// <summary>The device fires later than the leader lock can expire (<c>mode: automatic</c> keeps it anyway).</summary>
    public const int UnsafeTimeout = 2606;
}

internal static partial class WatchdogLog
{
    [LoggerMessage(EventId = WatchdogEventId.Activated, EventName = "WatchdogActivated", Level = LogLevel.Information,
        Message = "watchdog {Device} activated with a {TimeoutSeconds} s timeout")]
    public static partial void Activated(ILogger logger, string device, int timeoutSeconds);

    [LoggerMessage(EventId = WatchdogEventId.Disabled, EventName = "WatchdogDisabled", Level = LogLevel.Information,
        Message = "watchdog {Device} disabled")]
    public static partial void Disabled(ILogger logger, string device);

    [LoggerMessage(EventId = WatchdogEventId.DisableFailed, EventName = "WatchdogDisableFailed", Level = LogLevel.Error,
        Message = "could not disable the watchdog: {Reason}")]
    public static partial void DisableFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = WatchdogEventId.Unusable, EventName = "WatchdogUnusable", Level = LogLevel.Warning,
        Message = "watchdog {Device} cannot be used ({Reason}); mode is automatic, continuing without it")]
    public static partial void Unusable(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = WatchdogEventId.RequiredButUnusable, EventName = "WatchdogRequiredButUnusable", Level = LogLevel.Error,
        Message = "the configuration requires a watchdog, but {Device} cannot be used ({Reason}): this node may not lead")]
    public static partial void RequiredButUnusable(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = WatchdogEventId.UnsafeTimeout, EventName = "WatchdogUnsafeTimeout", Level = LogLevel.Warning,
        Message = "watchdog {Device} fires after {ActualSeconds} s, not {WantedSeconds} s: it does not ensure the node stops before its leader lock can expire")]
    public static partial void UnsafeTimeout(ILogger logger, string device, int actualSeconds, int wantedSeconds);
}
