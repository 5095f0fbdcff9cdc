using PgHa.Hosting;

namespace EmbeddedService;

/// <summary>The role changes this instance has seen, newest last.</summary>
public sealed class RoleHistory
{
    private readonly Lock _gate = new();
    private readonly List<string> _changes = [];

    /// <summary>Records one change.</summary>
    public void Add(PgHaRoleChangedEventArgs change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate) _changes.Add($"{change.Previous}->{change.Current}");
    }

    /// <summary>The changes so far.</summary>
    public IReadOnlyList<string> Snapshot()
    {
        lock (_gate) return [.. _changes];
    }
}
