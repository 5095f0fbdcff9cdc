using Microsoft.Extensions.Logging;

namespace PgHa.Logging;

internal static partial class Log
{
    [LoggerMessage(EventId = PgHaEventId.DcsUnavailable, EventName = "DcsUnavailable", Level = LogLevel.Warning, Message = "DCS is not accessible during {Operation}: {Error}")]
    public static partial void DcsUnavailable(ILogger logger, string operation, string error);

    [LoggerMessage(EventId = PgHaEventId.DcsDataProblem, EventName = "DcsDataProblem", Level = LogLevel.Warning, Message = "ignoring bad DCS data: {Problem}")]
    public static partial void DcsDataProblem(ILogger logger, string problem);

    [LoggerMessage(EventId = PgHaEventId.DcsWriteRejected, EventName = "DcsWriteRejected", Level = LogLevel.Information, Message = "DCS write of {Key} was rejected ({Condition}): another node changed it first")]
    public static partial void DcsWriteRejected(ILogger logger, string key, string condition);

    [LoggerMessage(EventId = PgHaEventId.CycleDecision, EventName = "CycleDecision", Level = LogLevel.Information, Message = "{Reason} [{Plan}]")]
    public static partial void CycleDecision(ILogger logger, string reason, string plan);

    [LoggerMessage(EventId = PgHaEventId.LockAcquired, EventName = "LockAcquired", Level = LogLevel.Information, Message = "acquired the leader lock, valid until {ValidUntil:o}")]
    public static partial void LockAcquired(ILogger logger, DateTimeOffset validUntil);

    [LoggerMessage(EventId = PgHaEventId.LockLost, EventName = "LockLost", Level = LogLevel.Warning, Message = "failed to update the leader lock: {Why}")]
    public static partial void LockLost(ILogger logger, string why);

    [LoggerMessage(EventId = PgHaEventId.LockReleased, EventName = "LockReleased", Level = LogLevel.Information, Message = "released the leader lock: {Released}")]
    public static partial void LockReleased(ILogger logger, bool released);

    [LoggerMessage(EventId = PgHaEventId.LoopTimeExceeded, EventName = "LoopTimeExceeded", Level = LogLevel.Warning, Message = "loop time exceeded: the cycle took {Elapsed} with loop_wait {LoopWait}; running the next cycle now")]
    public static partial void LoopTimeExceeded(ILogger logger, TimeSpan elapsed, TimeSpan loopWait);

    [LoggerMessage(EventId = PgHaEventId.CycleFailed, EventName = "CycleFailed", Level = LogLevel.Error, Message = "HA cycle failed unexpectedly; the loop carries on")]
    public static partial void CycleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = PgHaEventId.FenceFailed, EventName = "FenceFailed", Level = LogLevel.Critical, Message = "could not move the write fence ({Error}); not acting as the leader")]
    public static partial void FenceFailed(ILogger logger, string error);

    [LoggerMessage(EventId = PgHaEventId.PeerUnreachable, EventName = "PeerUnreachable", Level = LogLevel.Information, Message = "peer {Member} did not answer the status request: {Error}; ignored in the leader race")]
    public static partial void PeerUnreachable(ILogger logger, string member, string error);

    [LoggerMessage(EventId = PgHaEventId.ShutdownLeavesPostgres, EventName = "ShutdownLeavesPostgres", Level = LogLevel.Information, Message = "PAUSE: shutting down without touching PostgreSQL or the leader lock (maintenance mode)")]
    public static partial void ShutdownLeavesPostgres(ILogger logger);

    [LoggerMessage(EventId = PgHaEventId.PeersQueried, EventName = "PeersQueried", Level = LogLevel.Debug, Message = "queried {Count} peers for the leader race, {Reachable} answered")]
    public static partial void PeersQueried(ILogger logger, int count, int reachable);

    [LoggerMessage(EventId = PgHaEventId.ActionStarted, EventName = "ActionStarted", Level = LogLevel.Information, Message = "{Action} started")]
    public static partial void ActionStarted(ILogger logger, string action);

    [LoggerMessage(EventId = PgHaEventId.ActionFinished, EventName = "ActionFinished", Level = LogLevel.Information, Message = "{Action} finished after {Elapsed}")]
    public static partial void ActionFinished(ILogger logger, string action, TimeSpan elapsed);

    [LoggerMessage(EventId = PgHaEventId.ActionFailed, EventName = "ActionFailed", Level = LogLevel.Error, Message = "{Action} failed: {Error}")]
    public static partial void ActionFailed(ILogger logger, string action, string error);

    [LoggerMessage(EventId = PgHaEventId.PostgresUnobservable, EventName = "PostgresUnobservable", Level = LogLevel.Error, Message = "could not observe the local PostgreSQL, skipping this cycle: {Error}")]
    public static partial void PostgresUnobservable(ILogger logger, string error);
}
