using Microsoft.Extensions.Logging;

namespace PgHa.Callbacks;

/// <summary>
/// Stable event ids of the callbacks' log events (3300–3399, inside PgHa's 3xxx "PostgreSQL actions" range; see
/// <see cref="Logging.PgHaEventId"/>).
/// </summary>
public static class CallbackEventId
{
    /// <summary>A callback command was started (name, role, command).</summary>
    public const int Started = 3301;
    /// <summary>A callback command exited by itself (name, exit status, duration).</summary>
    public const int Exited = 3302;
    /// <summary>A callback command was killed: it ran past its bound, or a newer callback replaced it.</summary>
    public const int Killed = 3303;
    /// <summary>A callback command could not be started.</summary>
    public const int NotStarted = 3304;
    /// <summary>pre_promote did not succeed: the promotion was abandoned and the leader lock released.</summary>
    public const int PromotionAborted = 3305;
    /// <summary>The leader lock was lost while pre_promote ran: the promotion was abandoned.</summary>
    public const int LockLostBeforePromote = 3306;
}

internal static partial class CallbackLog
{
    [LoggerMessage(EventId = CallbackEventId.Started, EventName = "CallbackStarted", Level = LogLevel.Information, Message = "running {Callback} (pid {Pid}): {Command}")]
    public static partial void Started(ILogger logger, string callback, int pid, string command);

    [LoggerMessage(EventId = CallbackEventId.Exited, EventName = "CallbackExited", Message = "{Callback} exited with {ExitCode} after {Duration}")]
    public static partial void Exited(ILogger logger, LogLevel level, string callback, int exitCode, TimeSpan duration);

    [LoggerMessage(EventId = CallbackEventId.Killed, EventName = "CallbackKilled", Level = LogLevel.Warning, Message = "killed {Callback} (pid {Pid} and its process group) after {Duration}: {Reason}")]
    public static partial void Killed(ILogger logger, string callback, int pid, TimeSpan duration, string reason);

    [LoggerMessage(EventId = CallbackEventId.NotStarted, EventName = "CallbackNotStarted", Level = LogLevel.Error, Message = "could not run {Callback}: {Error}")]
    public static partial void NotStarted(ILogger logger, string callback, string error);

    [LoggerMessage(EventId = CallbackEventId.PromotionAborted, EventName = "PromotionAborted", Level = LogLevel.Warning, Message = "pre_promote {Outcome}: not promoting, giving up the leader lock")]
    public static partial void PromotionAborted(ILogger logger, string outcome);

    [LoggerMessage(EventId = CallbackEventId.LockLostBeforePromote, EventName = "LockLostBeforePromote", Level = LogLevel.Warning, Message = "lost the leader lock while pre_promote ran: not promoting")]
    public static partial void LockLostBeforePromote(ILogger logger);
}
