using PgHa.Cluster;
using PgHa.Decisions;

namespace PgHa.Postgres;

/// <summary>
/// Operator actions on the local PostgreSQL (REST <c>/restart</c>, <c>/reload</c>, <c>/reinitialize</c>) and the
/// application of dynamic configuration. Kept apart from <see cref="IPostgresControl"/>, which the HA decisions need,
/// so that simulators and test doubles of the HA port need not implement them; the loop offers these actions only
/// when its PostgreSQL port implements this interface too.
/// </summary>
public interface IPostgresAdministration
{
    /// <summary>
    /// Stops PostgreSQL with a shutdown checkpoint and starts it again in the role it had (a replica keeps following
    /// <paramref name="upstream"/>), with the configuration rewritten from the current parameters. A primary is only
    /// started while the write fence allows it.
    /// </summary>
    Task RestartAsync(Member? upstream, CancellationToken cancellationToken);

    /// <summary>Asks the running server to re-read its configuration files (<c>pg_reload_conf()</c>); nothing when stopped.</summary>
    Task ReloadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="parameters"/> the PostgreSQL parameters PgHa writes (on top of its own settings), rewrites
    /// <c>postgresql.conf</c> when they changed, reloads a running server, and returns the parameters that wait for a
    /// restart (empty when none). <paramref name="upstream"/> is the member a replica streams from, so its recovery
    /// settings stay in the rewritten file.
    /// </summary>
    Task<IReadOnlyList<PendingParameter>> ApplyParametersAsync(IReadOnlyDictionary<string, string> parameters, Member? upstream, CancellationToken cancellationToken);

    /// <summary>The parameters that wait for a restart on the running server (empty when none or when stopped).</summary>
    Task<IReadOnlyList<PendingParameter>> GetPendingRestartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops PostgreSQL immediately, removes the data directory and clones it again from <paramref name="source"/>,
    /// leaving a stopped replica the HA loop then starts.
    /// </summary>
    Task ReinitializeAsync(Member source, CancellationToken cancellationToken);
}
