using System.Collections.Immutable;
using System.Text;

namespace PgHa.Decisions;

/// <summary>
/// The decider's answer for one cycle: what to do, in order, and a sentence saying why (shown in logs and REST).
/// </summary>
/// <param name="Reason">Human-readable reason, in Patroni's style ("no action. I am (node1), the leader with the lock").</param>
/// <param name="Actions">Steps for the executor; empty for "no action".</param>
/// <param name="NeedsPeerStatus">
/// Set when the decision needs peers' <c>/patroni</c> answers that were not gathered: the loop gathers them and decides again.
/// </param>
public sealed record HaPlan(string Reason, ImmutableArray<HaAction> Actions, bool NeedsPeerStatus = false)
{
    /// <summary>A plan that does nothing.</summary>
    public static HaPlan NoAction(string reason) => new(reason, ImmutableArray<HaAction>.Empty);

    /// <summary>A plan of the given steps.</summary>
    public static HaPlan Of(string reason, params HaAction[] actions) => new(reason, [.. actions]);

    /// <summary>Ask the loop for peer status first.</summary>
    public static HaPlan AskPeers(string reason) => new(reason, ImmutableArray<HaAction>.Empty, true);

    /// <summary>Compact rendering of the action tree, e.g. <c>renew-lock{ok:[promote] fail:[demote-immediatenolock]}</c>.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        Append(sb, Actions);
        return sb.Length == 0 ? "none" : sb.ToString();
    }

    private static void Append(StringBuilder sb, ImmutableArray<HaAction> actions)
    {
        for (var i = 0; i < actions.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            var a = actions[i];
            sb.Append(a.Name);
            switch (a)
            {
                case AcquireLock acq: Branches(sb, "won", acq.OnWon, "lost", acq.OnLost); break;
                case RenewLock ren:
                    Branches(sb, "ok", ren.OnRenewed, "fail", ren.OnFailed);
                    if (!ren.OnDcsUnavailable.IsDefault) Branches(sb, "dcs-down", ren.OnDcsUnavailable, null, default);
                    break;
                case ConfirmFailsafe round:
                    sb.Append('(').Append(string.Join(',', round.Members.Keys.Order(StringComparer.Ordinal))).Append(')');
                    Branches(sb, "confirmed", round.OnConfirmed, "refused", round.OnRefused);
                    break;
                case RaceInitialize race: Branches(sb, "won", race.OnWon, null, default); break;
                case Follow f: sb.Append('(').Append(f.Upstream ?? "-").Append(')'); break;
                // The usual pre_promote branch (release the lock) is implied; only a different one is shown.
                case Promote p when p.OnPrePromoteFailed != Promote.ReleaseOnPrePromoteFailure: Branches(sb, "pre-promote-failed", p.OnPrePromoteFailed, null, default); break;
                case CreateReplica c: sb.Append('(').Append(c.Source ?? "-").Append(')'); break;
                case WriteSyncState w:
                    sb.Append('(').Append(w.Standbys.IsDefaultOrEmpty ? "-" : string.Join(',', w.Standbys)).Append(')');
                    if (!w.OnWritten.IsDefaultOrEmpty) Branches(sb, "ok", w.OnWritten, null, default);
                    break;
                case DeleteSyncState d when !d.OnDeleted.IsDefaultOrEmpty: Branches(sb, "ok", d.OnDeleted, null, default); break;
                case SetSynchronousStandbyNames n: sb.Append("('").Append(n.Value ?? "<parameters>").Append("')"); break;
            }
        }
    }

    private static void Branches(StringBuilder sb, string a, ImmutableArray<HaAction> first, string? b, ImmutableArray<HaAction> second)
    {
        sb.Append('{').Append(a).Append(":[");
        Append(sb, first);
        sb.Append(']');
        if (b is not null)
        {
            sb.Append(' ').Append(b).Append(":[");
            Append(sb, second);
            sb.Append(']');
        }
        sb.Append('}');
    }
}
