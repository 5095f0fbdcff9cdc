using PgHa.Callbacks;

namespace PgHa.Hosting;

/// <summary>
/// Commands run around PostgreSQL events (Patroni's <c>postgresql.callbacks</c>, <c>pre_promote</c>, <c>before_stop</c>),
/// bound from <c>PgHa:Callbacks</c>. Each is split shell-like and run without a shell, as the host's user; empty: none.
/// </summary>
public sealed class PgHaCallbackOptions
{
    /// <summary><c>on_start</c>: run as <c>&lt;command&gt; on_start &lt;role&gt; &lt;scope&gt;</c> after PostgreSQL started.</summary>
    public string OnStart { get; set; } = "";
    /// <summary><c>on_stop</c>: after PostgreSQL was stopped.</summary>
    public string OnStop { get; set; } = "";
    /// <summary><c>on_restart</c>: after a requested restart.</summary>
    public string OnRestart { get; set; } = "";
    /// <summary><c>on_reload</c>: after a requested reload.</summary>
    public string OnReload { get; set; } = "";
    /// <summary><c>on_role_change</c>: after a promotion, or after a former primary started as a replica.</summary>
    public string OnRoleChange { get; set; } = "";
    /// <summary><c>pre_promote</c>: before promoting; a non-zero exit (or no exit within ttl) aborts the promotion and releases the lock.</summary>
    public string PrePromote { get; set; } = "";
    /// <summary><c>before_stop</c>: before stopping a running PostgreSQL (exit status ignored, bounded by retry_timeout).</summary>
    public string BeforeStop { get; set; } = "";

    /// <summary>The same commands for the HA loop's callbacks port.</summary>
    public CallbackOptions ToCallbackOptions(string scope) => new()
    {
        Scope = scope,
        OnStart = OnStart,
        OnStop = OnStop,
        OnRestart = OnRestart,
        OnReload = OnReload,
        OnRoleChange = OnRoleChange,
        PrePromote = PrePromote,
        BeforeStop = BeforeStop,
    };
}
