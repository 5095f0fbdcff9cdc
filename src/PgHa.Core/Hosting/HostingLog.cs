using Microsoft.Extensions.Logging;

namespace PgHa.Hosting;

internal static partial class HostingLog
{
    [LoggerMessage(EventId = PgHaHostingEventId.NodeStarting, EventName = "NodeStarting", Level = LogLevel.Information,
        Message = "PgHa {Version} starting: member {Name} of cluster {Scope}, API {ApiUrl}, DCS {Dcs}")]
    public static partial void NodeStarting(ILogger logger, string version, string name, string scope, string apiUrl, string dcs);

    [LoggerMessage(EventId = PgHaHostingEventId.RoleChanged, EventName = "RoleChanged", Level = LogLevel.Information,
        Message = "role changed from {Previous} to {Current}")]
    public static partial void RoleChanged(ILogger logger, PgHaRole previous, PgHaRole current);

    [LoggerMessage(EventId = PgHaHostingEventId.RoleChangedHandlerFailed, EventName = "RoleChangedHandlerFailed", Level = LogLevel.Error,
        Message = "a RoleChanged handler threw; the node carries on")]
    public static partial void RoleChangedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = PgHaHostingEventId.NodeStopped, EventName = "NodeStopped", Level = LogLevel.Information,
        Message = "PgHa stopped: member {Name} of cluster {Scope}")]
    public static partial void NodeStopped(ILogger logger, string name, string scope);

    [LoggerMessage(EventId = PgHaHostingEventId.ShutdownFailed, EventName = "ShutdownFailed", Level = LogLevel.Error,
        Message = "PgHa shutdown did not complete cleanly; PostgreSQL may still run and the leader lock may be held until its ttl")]
    public static partial void ShutdownFailed(ILogger logger, Exception exception);
}
