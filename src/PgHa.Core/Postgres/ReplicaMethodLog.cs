using Microsoft.Extensions.Logging;

namespace PgHa.Postgres;

/// <summary>
/// Stable event ids of replica creation methods and custom bootstrap methods (3180–3189, inside the PostgreSQL
/// controller's 31xx block; see <see cref="PostgresEventId"/>).
/// </summary>
public static class ReplicaMethodEventId
{
    /// <summary>A replica creation method (or a custom bootstrap method) started.</summary>
    public const int MethodStarted = 3180;
    /// <summary>A replica creation method succeeded; the data directory is ready.</summary>
    public const int MethodSucceeded = 3181;
    /// <summary>A replica creation method failed; the next one is tried.</summary>
    public const int MethodFailed = 3182;
    /// <summary>No replica creation method could run or every one failed.</summary>
    public const int AllMethodsFailed = 3183;
    /// <summary>A method was skipped because it needs a member to clone from and there is none.</summary>
    public const int MethodSkipped = 3184;
    /// <summary>A custom bootstrap method finished.</summary>
    public const int CustomBootstrapDone = 3185;
    /// <summary>A custom bootstrap's first start is in recovery (recovery_conf); waiting for it to end.</summary>
    public const int WaitingForBootstrapRecovery = 3186;
}

internal static partial class ReplicaMethodLog
{
    [LoggerMessage(EventId = ReplicaMethodEventId.MethodStarted, Level = LogLevel.Information, Message = "creating the data directory with method {Method}: {Command}")]
    public static partial void MethodStarted(ILogger logger, string method, string command);

    [LoggerMessage(EventId = ReplicaMethodEventId.MethodSucceeded, Level = LogLevel.Information, Message = "replica has been created using {Method} (from {Source}) in {Elapsed}")]
    public static partial void MethodSucceeded(ILogger logger, string method, string source, TimeSpan elapsed);

    [LoggerMessage(EventId = ReplicaMethodEventId.MethodFailed, Level = LogLevel.Error, Message = "error creating replica using method {Method}: {Error}")]
    public static partial void MethodFailed(ILogger logger, string method, string error);

    [LoggerMessage(EventId = ReplicaMethodEventId.AllMethodsFailed, Level = LogLevel.Error, Message = "failed to create a replica (methods tried: {Methods}); the data directory was removed, the next cycle tries again")]
    public static partial void AllMethodsFailed(ILogger logger, string methods);

    [LoggerMessage(EventId = ReplicaMethodEventId.MethodSkipped, Level = LogLevel.Information, Message = "skipping replica method {Method}: there is no member to clone from and it is not marked no_leader")]
    public static partial void MethodSkipped(ILogger logger, string method);

    [LoggerMessage(EventId = ReplicaMethodEventId.CustomBootstrapDone, Level = LogLevel.Information, Message = "custom bootstrap method {Method} finished in {Elapsed}: system identifier {SystemId}; left stopped until the leader lock is taken and the write fence armed")]
    public static partial void CustomBootstrapDone(ILogger logger, string method, TimeSpan elapsed, string? systemId);

    [LoggerMessage(EventId = ReplicaMethodEventId.WaitingForBootstrapRecovery, Level = LogLevel.Information, Message = "the bootstrapped cluster runs its recovery (recovery_conf of the custom bootstrap method); waiting for it to end")]
    public static partial void WaitingForBootstrapRecovery(ILogger logger);
}
