using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

internal static partial class Log
{
    [LoggerMessage(EventId = 2101, EventName = "RestartSkipped", Level = LogLevel.Information, Message = "not proceeding with the restart: {Reason}")]
    public static partial void RestartSkipped(ILogger logger, string reason);

    [LoggerMessage(EventId = 2102, EventName = "ParametersApplied", Level = LogLevel.Information, Message = "applied the dynamic configuration: {Count} PostgreSQL parameters, {Pending} waiting for a restart")]
    public static partial void ParametersApplied(ILogger logger, int count, int pending);

    [LoggerMessage(EventId = 2103, EventName = "ParameterIgnored", Level = LogLevel.Warning, Message = "ignoring postgresql.parameters entry of the config key: {Problem}")]
    public static partial void ParameterIgnored(ILogger logger, string problem);

    [LoggerMessage(EventId = 2120, EventName = "ActionCancelled", Level = LogLevel.Warning, Message = "{Action} was cancelled (reinitialize with force)")]
    public static partial void ActionCancelled(ILogger logger, string action);
}
