using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>
/// One step of an <see cref="HaPlan"/>. DCS steps whose outcome decides what follows carry both branches, so the
/// executor performs the write and continues with the branch; it never decides anything itself.
/// </summary>
public abstract record HaAction
{
    /// <summary>Short stable name for logs and traces.</summary>
    public abstract string Name { get; }
}

/// <summary>Race for the free leader lock.</summary>
/// <param name="OnWon">Steps when this node got the lock.</param>
/// <param name="OnLost">Steps when another node got it first.</param>
public sealed record AcquireLock(ImmutableArray<HaAction> OnWon, ImmutableArray<HaAction> OnLost) : HaAction
{
    /// <inheritdoc />
    public override string Name => "acquire-lock";
}

/// <summary>Renew the lock this node holds, and publish the leader status with it.</summary>
/// <param name="Held">The lock as read this cycle.</param>
/// <param name="Optime">Leader WAL position to publish in <c>status</c> (null: nothing to publish).</param>
/// <param name="OnRenewed">Steps when renewed.</param>
/// <param name="OnFailed">Steps when the lock is no longer ours or the DCS failed.</param>
/// <param name="OnDcsUnavailable">
/// Steps when the DCS did not answer (not a lost CAS), e.g. failsafe mode's confirmation round; default: <paramref name="OnFailed"/>.
/// </param>
public sealed record RenewLock(LeaderLock Held, long? Optime, ImmutableArray<HaAction> OnRenewed, ImmutableArray<HaAction> OnFailed, ImmutableArray<HaAction> OnDcsUnavailable = default) : HaAction
{
    /// <inheritdoc />
    public override string Name => "renew-lock";
}

/// <summary>Delete the leader key (only if it still names this node).</summary>
public sealed record ReleaseLock : HaAction
{
    /// <inheritdoc />
    public override string Name => "release-lock";
}

/// <summary>Race to create <c>initialize</c> (create-only) before running initdb.</summary>
/// <param name="OnWon">Steps when this node won.</param>
public sealed record RaceInitialize(ImmutableArray<HaAction> OnWon) : HaAction
{
    /// <inheritdoc />
    public override string Name => "race-initialize";
}

/// <summary>Write the system identifier into <c>initialize</c>.</summary>
/// <param name="SystemId">The local system identifier.</param>
/// <param name="Condition">CAS on the version read (or create-only).</param>
public sealed record WriteInitialize(string SystemId, Dcs.WriteCondition Condition) : HaAction
{
    /// <inheritdoc />
    public override string Name => "write-initialize";
}

/// <summary>Write the local dynamic configuration because the <c>config</c> key is missing or empty.</summary>
public sealed record WriteConfig : HaAction
{
    /// <inheritdoc />
    public override string Name => "write-config";
}

/// <summary>Clear the <c>failover</c> key (write <c>{}</c>) with CAS on its version.</summary>
/// <param name="Version">Version read this cycle.</param>
public sealed record ClearFailover(DcsVersion Version) : HaAction
{
    /// <inheritdoc />
    public override string Name => "clear-failover";
}

/// <summary>Publish the local timeline history into the <c>history</c> key.</summary>
/// <param name="Timeline">The local timeline the history must describe.</param>
public sealed record UpdateHistory(int Timeline) : HaAction
{
    /// <inheritdoc />
    public override string Name => "update-history";
}

/// <summary>Run initdb (or the configured bootstrap method) and start as the first primary. Runs in the background.</summary>
public sealed record Bootstrap : HaAction
{
    /// <inheritdoc />
    public override string Name => "bootstrap";
}

/// <summary>Create the data directory from a running member (or, with no member, by a <c>no_leader</c> replica method). Runs in the background.</summary>
/// <param name="Source">Member to clone from; null: none (a replica method that works without a leader, such as a backup restore).</param>
public sealed record CreateReplica(string? Source) : HaAction
{
    /// <inheritdoc />
    public override string Name => "create-replica";
}

/// <summary>Start a crashed primary in place while holding the lock. Runs in the background.</summary>
public sealed record StartPrimaryInPlace : HaAction
{
    /// <inheritdoc />
    public override string Name => "start-primary";
}

/// <summary>Make sure PostgreSQL runs as a replica of <see cref="Upstream"/> (start, reconfigure, rewind as needed).</summary>
/// <param name="Upstream">Member to stream from; null = no upstream (wait for a leader).</param>
public sealed record Follow(string? Upstream) : HaAction
{
    /// <inheritdoc />
    public override string Name => "follow";
}

/// <summary>
/// Promote the local replica to primary. Runs in the background; the write fence is armed first. A configured
/// <c>pre_promote</c> runs before the promotion; when it does not succeed, the node does not promote and runs
/// <see cref="OnPrePromoteFailed"/> instead.
/// </summary>
public sealed record Promote : HaAction
{
    /// <summary>Patroni's answer to a failed <c>pre_promote</c>: give the lock back (and stay out of the race for ttl).</summary>
    public static ImmutableArray<HaAction> ReleaseOnPrePromoteFailure { get; } = [new ReleaseLock()];

    /// <summary>Steps when <c>pre_promote</c> exits non-zero or runs past its bound; by default <see cref="ReleaseOnPrePromoteFailure"/>.</summary>
    public ImmutableArray<HaAction> OnPrePromoteFailed { get; init; } = ReleaseOnPrePromoteFailure;

    /// <inheritdoc />
    public override string Name => "promote";
}

/// <summary>Step down from primary.</summary>
/// <param name="Mode">How.</param>
public sealed record Demote(DemoteMode Mode) : HaAction
{
    /// <inheritdoc />
    public override string Name => "demote-" + Mode.ToString().ToLowerInvariant();
}
