using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

/// <summary>Replication slot and standby cluster log events (23xx: HA decisions about slots and standby clusters).</summary>
internal static partial class SlotsLog
{
    [LoggerMessage(EventId = 2301, EventName = "SlotPlanProblem", Level = LogLevel.Error, Message = "replication slots: {Problem}")]
    public static partial void SlotPlanProblem(ILogger logger, string problem);

    [LoggerMessage(EventId = 2302, EventName = "StandbyLeaderBootstrapped", Level = LogLevel.Information, Message = "bootstrapped the standby cluster from its remote primary {Remote}; running as the standby leader")]
    public static partial void StandbyLeaderBootstrapped(ILogger logger, string remote);
}
