namespace PgHa.Hosting;

/// <summary>The embedded node's role changed.</summary>
/// <param name="previous">The role before.</param>
/// <param name="current">The role now.</param>
/// <param name="at">When the change was observed.</param>
public sealed class PgHaRoleChangedEventArgs(PgHaRole previous, PgHaRole current, DateTimeOffset at) : EventArgs
{
    /// <summary>The role before.</summary>
    public PgHaRole Previous { get; } = previous;
    /// <summary>The role now.</summary>
    public PgHaRole Current { get; } = current;
    /// <summary>When the change was observed.</summary>
    public DateTimeOffset At { get; } = at;
}
