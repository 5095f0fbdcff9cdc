using PgHa.Dcs;
using PgHa.Loop;

namespace PgHa.Hosting;

/// <summary>
/// The embedded PgHa node, resolved from DI: its current role, a role-change event, and the running HA loop (for
/// operations such as restart or reinitialize, and for the REST API).
/// </summary>
public interface IPgHaNode
{
    /// <summary>Patroni's <c>scope</c>: the cluster name.</summary>
    string Scope { get; }

    /// <summary>This member's name.</summary>
    string Name { get; }

    /// <summary>The role as of the last observation (<see cref="PgHaRole.Unknown"/> before the first HA cycle).</summary>
    PgHaRole Role { get; }

    /// <summary>
    /// Raised when <see cref="Role"/> changes, on a thread-pool thread, at most a fraction of a second after the HA cycle
    /// that changed it. Handlers must be quick and must not throw (an exception is logged and ignored).
    /// </summary>
    event EventHandler<PgHaRoleChangedEventArgs>? RoleChanged;

    /// <summary>The HA loop (created on first use).</summary>
    HaLoop Loop { get; }

    /// <summary>The DCS connection the loop uses.</summary>
    IDcs Dcs { get; }

    /// <summary>How the loop asks peers' <c>/patroni</c> in a leader race (the REST API's switchover check uses it too).</summary>
    IPeerStatusClient Peers { get; }

    /// <summary>The version published in the member key and by <c>/patroni</c>.</summary>
    string AgentVersion { get; }
}
