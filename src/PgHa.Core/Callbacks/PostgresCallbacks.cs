using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Cluster;
using PgHa.Postgres;

namespace PgHa.Callbacks;

/// <summary>
/// Runs the configured commands as real processes (Patroni's semantics, patroni-compat.md §5.16): asynchronous
/// callbacks as <c>&lt;command&gt; &lt;action&gt; &lt;role&gt; &lt;scope&gt;</c>, one at a time (a new one kills the
/// previous), with <c>on_reload</c> in an executor of its own so a reload never kills a role-change script (Patroni
/// 3.2+); <c>pre_promote</c> and <c>before_stop</c> with no arguments added, waited for within the loop's bound.
/// </summary>
public sealed class PostgresCallbacks : IPostgresCallbacks
{
    private readonly CallbackOptions _options;
    private readonly ImmutableDictionary<CallbackAction, ImmutableArray<string>> _commands;
    private readonly ImmutableArray<string>? _prePromote;
    private readonly ImmutableArray<string>? _beforeStop;
    private readonly CallbackExecutor _executor;
    private readonly CallbackExecutor _reloadExecutor;
    private readonly CallbackRunner _runner;

    /// <summary>Prepares the commands of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A command cannot be split (the message names the setting).</exception>
    public PostgresCallbacks(CallbackOptions options, TimeProvider timeProvider, ILogger<PostgresCallbacks>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Scope, nameof(options));
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems), nameof(options));
        _options = options;
        _commands = CallbackActions.All.Where(a => !string.IsNullOrWhiteSpace(options.CommandFor(a)))
            .ToImmutableDictionary(a => a, a => CommandLine.Split(options.CommandFor(a)!));
        _prePromote = string.IsNullOrWhiteSpace(options.PrePromote) ? null : CommandLine.Split(options.PrePromote);
        _beforeStop = string.IsNullOrWhiteSpace(options.BeforeStop) ? null : CommandLine.Split(options.BeforeStop);
        var log = (ILogger?)logger ?? NullLogger.Instance;
        _executor = new CallbackExecutor(timeProvider, log);
        _reloadExecutor = new CallbackExecutor(timeProvider, log);
        _runner = new CallbackRunner(timeProvider, log);
    }

    /// <summary>
    /// The role as callbacks receive it: a primary (or one just <c>promoted</c>) is <c>master</c>, as Patroni 3.0.2
    /// passes it, by the same rule as the role published in the member key and in <c>GET /patroni</c>
    /// (<see cref="MemberRoles.ToWire"/>'s default), so a script written for the Patroni 3 nodes of a mixed cluster
    /// reads the same word from PgHa.
    /// </summary>
    public static string RoleArgument(MemberRole role) =>
        MemberRoles.ToWire(role == MemberRole.Promoted ? MemberRole.Primary : role);

    /// <summary>
    /// Starts the callback for <paramref name="action"/>; null when none is configured. The task completes when the
    /// command exits or is killed (the loop never waits for it).
    /// </summary>
    public Task<CallbackOutcome>? Call(CallbackAction action, MemberRole role)
    {
        if (!_commands.TryGetValue(action, out var command)) return null;
        var name = CallbackActions.ToWire(action);
        string[] argv = [.. command, name, RoleArgument(role), _options.Scope];
        return (action == CallbackAction.OnReload ? _reloadExecutor : _executor).Call(name, argv);
    }

    /// <inheritdoc />
    public void Notify(CallbackAction action, MemberRole role) => _ = Call(action, role);

    /// <inheritdoc />
    public async Task<CallbackOutcome?> RunPrePromoteAsync(TimeSpan limit, CancellationToken cancellationToken) =>
        _prePromote is { } argv ? await _runner.RunAsync("pre_promote", argv, limit, cancellationToken).ConfigureAwait(false) : null;

    /// <inheritdoc />
    public async Task<CallbackOutcome?> RunBeforeStopAsync(TimeSpan limit, CancellationToken cancellationToken) =>
        _beforeStop is { } argv ? await _runner.RunAsync("before_stop", argv, limit, cancellationToken).ConfigureAwait(false) : null;
}
