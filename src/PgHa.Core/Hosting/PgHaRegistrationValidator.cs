using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgHa.Dcs;
using PgHa.Postgres;

namespace PgHa.Hosting;

/// <summary>
/// The checks that depend on what else is registered: a DCS must be chosen, and when PgHa drives PostgreSQL itself (no
/// other <see cref="IPostgresControl"/> registered) its <see cref="PgHaOptions.Postgres"/> options must be valid.
/// </summary>
internal sealed class PgHaRegistrationValidator(IServiceProviderIsService services) : IValidateOptions<PgHaOptions>
{
    public ValidateOptionsResult Validate(string? name, PgHaOptions options)
    {
        var failures = new List<string>();
        if (!services.IsService(typeof(IDcs)))
            failures.Add("PgHa: no DCS is chosen; call UseEtcd(...), UseConsul(...) or UseDcs<TDcs>() on the builder AddPgHa returns");
        if (!services.IsService(typeof(IPostgresControl)))
        {
            var postgres = new PostgresControllerOptionsValidator().Validate(name, options.Postgres);
            if (postgres.Failed) failures.AddRange(postgres.Failures.Select(f => "PgHa:Postgres: " + f));
        }
        var connect = string.IsNullOrEmpty(options.PostgresConnectAddress) ? options.Postgres.ConnectAddress : options.PostgresConnectAddress;
        if (string.IsNullOrWhiteSpace(connect))
            failures.Add("PgHa:PostgresConnectAddress (or PgHa:Postgres:ConnectAddress) is required: host:port where peers reach this node's PostgreSQL (published as conn_url)");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
