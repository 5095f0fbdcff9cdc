using Microsoft.Extensions.DependencyInjection;

namespace PgHa.Hosting;

/// <summary>
/// Returned by <see cref="PgHaServiceCollectionExtensions.AddPgHa(IServiceCollection, Action{PgHaOptions})"/>: chooses the
/// DCS (<c>UseEtcd</c>, <c>UseConsul</c>, <see cref="PgHaServiceCollectionExtensions.UseDcs{TDcs}(IPgHaBuilder)"/>) and
/// optionally the PostgreSQL port. Adapter packages add their <c>Use…</c> methods as extensions of this interface.
/// </summary>
public interface IPgHaBuilder
{
    /// <summary>The services PgHa is registered in.</summary>
    IServiceCollection Services { get; }
}
