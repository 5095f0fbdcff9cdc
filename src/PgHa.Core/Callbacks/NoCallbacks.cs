using PgHa.Cluster;

namespace PgHa.Callbacks;

/// <summary>The port when no callbacks are configured: nothing runs, and promotions are never held back.</summary>
public sealed class NoCallbacks : IPostgresCallbacks
{
    /// <summary>The one instance.</summary>
    public static NoCallbacks Instance { get; } = new();

    private NoCallbacks() { }

    /// <inheritdoc />
    public void Notify(CallbackAction action, MemberRole role) { }

    /// <inheritdoc />
    public Task<CallbackOutcome?> RunPrePromoteAsync(TimeSpan limit, CancellationToken cancellationToken) => Task.FromResult<CallbackOutcome?>(null);

    /// <inheritdoc />
    public Task<CallbackOutcome?> RunBeforeStopAsync(TimeSpan limit, CancellationToken cancellationToken) => Task.FromResult<CallbackOutcome?>(null);
}
