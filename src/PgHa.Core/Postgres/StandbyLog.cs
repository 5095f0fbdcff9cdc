using Microsoft.Extensions.Logging;

namespace PgHa.Postgres;

public static partial class PostgresEventId
{
    /// <summary>A replication slot could not be created, dropped or advanced (retried at the next sync).</summary>
    public const int SlotActionFailed = 3170;
    /// <summary>The data directory was cloned from a standby cluster's remote primary.</summary>
    public const int ClonedFromRemote = 3171;
}

internal static partial class PostgresLog
{
    [LoggerMessage(EventId = PostgresEventId.SlotActionFailed, Level = LogLevel.Warning, Message = "could not {Action} replication slot {Slot}: {Error}; retrying at the next sync")]
    public static partial void SlotActionFailed(ILogger logger, string action, string slot, string error);

    [LoggerMessage(EventId = PostgresEventId.ClonedFromRemote, Level = LogLevel.Information, Message = "cloned the remote primary {Remote} of the standby cluster")]
    public static partial void ClonedFromRemote(ILogger logger, string remote);
}
