using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

internal static partial class FailsafeLog
{
    [LoggerMessage(EventId = PgHaEventId.FailsafeConfirmed, EventName = "FailsafeConfirmed", Level = LogLevel.Warning, Message = "failsafe mode: {Count} members confirmed me as the leader; continue to run as a leader, write fence moved to {FenceAt:o}")]
    public static partial void Confirmed(ILogger logger, int count, DateTimeOffset fenceAt);

    [LoggerMessage(EventId = PgHaEventId.FailsafeRefused, EventName = "FailsafeRefused", Level = LogLevel.Warning, Message = "failsafe mode: not every member confirmed me as the leader (no confirmation from: {Members})")]
    public static partial void Refused(ILogger logger, string members);

    [LoggerMessage(EventId = PgHaEventId.FailsafeAccepted, EventName = "FailsafeAccepted", Level = LogLevel.Debug, Message = "failsafe mode: accepted {Leader} as the leader; not racing before {Until:o}")]
    public static partial void Accepted(ILogger logger, string leader, DateTimeOffset until);

    [LoggerMessage(EventId = PgHaEventId.FailsafePromotionHeld, EventName = "FailsafePromotionHeld", Level = LogLevel.Warning, Message = "failsafe mode: not promoting, {Leader} runs as the leader and I confirmed it until {Until:o}")]
    public static partial void PromotionHeld(ILogger logger, string leader, DateTimeOffset until);

    [LoggerMessage(EventId = PgHaEventId.FailsafeMemberRefused, EventName = "FailsafeMemberRefused", Level = LogLevel.Information, Message = "failsafe mode: {Member} did not confirm me as the leader: {Why}")]
    public static partial void MemberRefused(ILogger logger, string member, string why);
}
