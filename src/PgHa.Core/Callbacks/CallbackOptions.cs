using PgHa.Postgres;

namespace PgHa.Callbacks;

/// <summary>
/// The user's commands around PostgreSQL events (Patroni's <c>postgresql.callbacks</c>, <c>postgresql.pre_promote</c>
/// and <c>postgresql.before_stop</c>). Each command is split shell-like (<see cref="CommandLine"/>) and run without a
/// shell, as the agent's user, in a process group of its own. Null or empty: nothing runs.
/// </summary>
public sealed record CallbackOptions
{
    /// <summary>The cluster name (<c>scope</c>), passed as the last argument of every callback.</summary>
    public required string Scope { get; init; }
    /// <summary><c>callbacks.on_start</c>.</summary>
    public string? OnStart { get; init; }
    /// <summary><c>callbacks.on_stop</c>.</summary>
    public string? OnStop { get; init; }
    /// <summary><c>callbacks.on_restart</c>.</summary>
    public string? OnRestart { get; init; }
    /// <summary><c>callbacks.on_reload</c>.</summary>
    public string? OnReload { get; init; }
    /// <summary><c>callbacks.on_role_change</c>.</summary>
    public string? OnRoleChange { get; init; }
    /// <summary>
    /// <c>pre_promote</c>: run (with no arguments added) after this node took the leader lock and before it promotes;
    /// a non-zero exit, or no exit within the loop's bound, aborts the promotion and releases the lock.
    /// </summary>
    public string? PrePromote { get; init; }
    /// <summary><c>before_stop</c>: run (with no arguments added) before PgHa stops a running PostgreSQL; its exit status is ignored.</summary>
    public string? BeforeStop { get; init; }

    /// <summary>The command configured for <paramref name="action"/>, or null.</summary>
    public string? CommandFor(CallbackAction action) => action switch
    {
        CallbackAction.OnStart => OnStart,
        CallbackAction.OnStop => OnStop,
        CallbackAction.OnRestart => OnRestart,
        CallbackAction.OnReload => OnReload,
        CallbackAction.OnRoleChange => OnRoleChange,
        _ => null,
    };

    /// <summary>True when no command at all is configured.</summary>
    public bool IsEmpty => CallbackActions.All.All(a => string.IsNullOrWhiteSpace(CommandFor(a)))
                           && string.IsNullOrWhiteSpace(PrePromote) && string.IsNullOrWhiteSpace(BeforeStop);

    /// <summary>Problems with the commands, each naming its setting (empty when every command can be split).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var action in CallbackActions.All)
            Check(problems, "callbacks." + CallbackActions.ToWire(action), CommandFor(action));
        Check(problems, "pre_promote", PrePromote);
        Check(problems, "before_stop", BeforeStop);
        return problems;
    }

    private static void Check(List<string> problems, string setting, string? command)
    {
        if (string.IsNullOrWhiteSpace(command)) return;
        try { CommandLine.Split(command); }
        catch (FormatException ex) { problems.Add($"{setting}: '{command}' cannot be split into a command: {ex.Message}"); }
    }
}
