using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

/// <summary>Synchronous mode's log events (22xx: HA decisions about synchronous replication).</summary>
internal static partial class SynchronousLog
{
    [LoggerMessage(EventId = 2201, EventName = "SyncStateWritten", Level = LogLevel.Information, Message = "synchronous standby status assigned to: {Standbys}")]
    public static partial void SyncStateWritten(ILogger logger, string standbys);

    [LoggerMessage(EventId = 2202, EventName = "SynchronousStandbyNamesSet", Level = LogLevel.Information, Message = "synchronous_standby_names set to '{Value}'")]
    public static partial void SynchronousStandbyNamesSet(ILogger logger, string value);

    [LoggerMessage(EventId = 2203, EventName = "SyncStateDeleted", Level = LogLevel.Information, Message = "disabled synchronous replication: sync key deleted")]
    public static partial void SyncStateDeleted(ILogger logger);
}
