using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

internal static partial class SynchronousLog
{
    [LoggerMessage(EventId = 2210, EventName = "LeavingSynchronousStandby", Level = LogLevel.Information, Message = "tagged nosync before {Action}; waiting up to {Timeout} for the leader to release this node from synchronous standby")]
    public static partial void LeavingSynchronousStandby(ILogger logger, string action, TimeSpan timeout);

    [LoggerMessage(EventId = 2211, EventName = "ReleasedFromSynchronousStandby", Level = LogLevel.Information, Message = "not a synchronous standby (any more) after {Elapsed}; going ahead with {Action}")]
    public static partial void ReleasedFromSynchronousStandby(ILogger logger, TimeSpan elapsed, string action);

    [LoggerMessage(EventId = 2212, EventName = "StillSynchronousStandby", Level = LogLevel.Warning, Message = "still a synchronous standby after {Elapsed} ({Why}); going ahead with {Action} anyway")]
    public static partial void StillSynchronousStandby(ILogger logger, TimeSpan elapsed, string why, string action);
}
