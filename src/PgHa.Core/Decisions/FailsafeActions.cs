using System.Collections.Immutable;
using PgHa.Cluster;

namespace PgHa.Decisions;

/// <summary>Write the <c>failsafe</c> key: the members a leader in failsafe mode must hear from.</summary>
/// <param name="Members">Member name → api_url, including the leader itself.</param>
/// <param name="Condition">CAS on the version read this cycle, so a write that lands late never overwrites a newer map.</param>
public sealed record WriteFailsafe(ImmutableDictionary<string, string> Members, Dcs.WriteCondition Condition) : HaAction
{
    /// <inheritdoc />
    public override string Name => "write-failsafe";
}

/// <summary>
/// Delete the <c>failsafe</c> key because failsafe mode is off: while it exists, members it does not name may not race
/// (whatever mode they believe in), so it must not outlive the mode.
/// </summary>
/// <param name="Version">The version read this cycle.</param>
public sealed record DeleteFailsafe(DcsVersion Version) : HaAction
{
    /// <inheritdoc />
    public override string Name => "delete-failsafe";
}

/// <summary>
/// The DCS is unreachable and this node is the leader in failsafe mode: <c>POST /failsafe</c> to every other member
/// of the failsafe topology in parallel. Only when every one answers <c>Accepted</c> may the write fence move, to the
/// round's send time plus ttl minus the safety margin (see <see cref="FailsafeRules"/>).
/// </summary>
/// <param name="Members">Member name → api_url of everyone to ask (not this node).</param>
/// <param name="OnConfirmed">Steps when every member confirmed.</param>
/// <param name="OnRefused">Steps when any member refused or did not answer.</param>
public sealed record ConfirmFailsafe(ImmutableDictionary<string, string> Members, ImmutableArray<HaAction> OnConfirmed, ImmutableArray<HaAction> OnRefused) : HaAction
{
    /// <inheritdoc />
    public override string Name => "confirm-failsafe";
}
