using Npgsql;

namespace PgHa.Postgres;

public sealed partial class PostgresController
{
    /// <summary>
    /// After bootstrap, as Patroni's post_bootstrap does: creates (or updates) the replication user with REPLICATION and
    /// the rewind user with the grants pg_rewind and PgHa's divergence check need, so replicas can clone and a former
    /// primary can be rewound with the configured credentials. The superuser's password was set by initdb.
    /// </summary>
    private async Task CreateBootstrapRolesAsync(CancellationToken ct)
    {
        await using var connection = await OpenLocalAsync(ct).ConfigureAwait(false);
        var superuser = _options.Superuser.Username;
        if (_options.Replication.Username != superuser)
            await CreateOrUpdateRoleAsync(connection, _options.Replication, "LOGIN REPLICATION", ct).ConfigureAwait(false);
        if (_options.Rewind is { } rewind && rewind.Username != superuser)
        {
            await CreateOrUpdateRoleAsync(connection, rewind, "LOGIN", ct).ConfigureAwait(false);
            var role = QuoteIdentifier(rewind.Username);
            foreach (var function in new[]
                     {
                         "pg_catalog.pg_ls_dir(text, boolean, boolean)", "pg_catalog.pg_stat_file(text, boolean)",
                         "pg_catalog.pg_read_binary_file(text)", "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
                     })
            {
                await using var grant = new NpgsqlCommand($"GRANT EXECUTE ON FUNCTION {function} TO {role}", connection);
                await grant.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        PostgresLog.RolesCreated(_logger, _options.Replication.Username, _options.Rewind?.Username ?? "(superuser)");
    }

    private static async Task CreateOrUpdateRoleAsync(NpgsqlConnection connection, PostgresCredentials user, string attributes, CancellationToken ct)
    {
        var role = QuoteIdentifier(user.Username);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", connection) { Parameters = { new() { Value = user.Username } } };
        var verb = await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null ? "CREATE" : "ALTER";
        // Role DDL takes no bind parameters; the password is a quoted literal, never logged.
        var password = user.Password is null ? "" : " PASSWORD " + QuoteLiteral(user.Password);
        await using var ddl = new NpgsqlCommand($"{verb} ROLE {role} WITH {attributes}{password}", connection);
        await ddl.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string QuoteLiteral(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
