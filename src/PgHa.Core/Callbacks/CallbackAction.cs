namespace PgHa.Callbacks;

/// <summary>
/// The asynchronous callbacks of <c>postgresql.callbacks</c> (patroni-compat.md §5.16). Each runs as
/// <c>&lt;command&gt; &lt;action&gt; &lt;role&gt; &lt;scope&gt;</c> after the event, without the loop waiting for it.
/// </summary>
public enum CallbackAction
{
    /// <summary><c>on_start</c>: PostgreSQL was started (or found running when the agent started).</summary>
    OnStart,
    /// <summary><c>on_stop</c>: PostgreSQL was stopped.</summary>
    OnStop,
    /// <summary><c>on_restart</c>: PostgreSQL was restarted on request.</summary>
    OnRestart,
    /// <summary><c>on_reload</c>: PostgreSQL re-read its configuration on request.</summary>
    OnReload,
    /// <summary><c>on_role_change</c>: PostgreSQL was promoted, or a former primary now runs as a replica.</summary>
    OnRoleChange,
}

/// <summary>Patroni's names of <see cref="CallbackAction"/>, as passed to the command and used in the configuration.</summary>
public static class CallbackActions
{
    /// <summary>The action's name: <c>on_start</c>, <c>on_stop</c>, <c>on_restart</c>, <c>on_reload</c>, <c>on_role_change</c>.</summary>
    public static string ToWire(CallbackAction action) => action switch
    {
        CallbackAction.OnStart => "on_start",
        CallbackAction.OnStop => "on_stop",
        CallbackAction.OnRestart => "on_restart",
        CallbackAction.OnReload => "on_reload",
        CallbackAction.OnRoleChange => "on_role_change",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "not a callback action"),
    };

    /// <summary>Every action, in Patroni's order.</summary>
    public static IReadOnlyList<CallbackAction> All { get; } =
        [CallbackAction.OnStart, CallbackAction.OnStop, CallbackAction.OnRestart, CallbackAction.OnReload, CallbackAction.OnRoleChange];
}
