using Npgsql;

namespace PgHa.Postgres;

/// <summary>
/// The libpq connection options of one <c>authentication.*</c> entry besides user and password (Patroni passes them
/// through): <c>sslmode</c>, <c>sslkey</c>, <c>sslpassword</c>, <c>sslcert</c>, <c>sslrootcert</c>, <c>sslcrl</c>,
/// <c>sslcrldir</c>, <c>gssencmode</c>, <c>channel_binding</c>. Null: not configured. They go wherever that user
/// connects: <c>primary_conninfo</c> and <c>pg_basebackup</c> (replication), <c>pg_rewind</c> (rewind) and the
/// agent's own Npgsql connections (superuser locally, rewind to the upstream).
/// </summary>
/// <remarks>
/// Npgsql has no equivalent of <c>sslcrl</c> and <c>sslcrldir</c>: they apply to the libpq-based tools only
/// (<c>primary_conninfo</c>, <c>pg_rewind</c>, <c>pg_basebackup</c>, custom replica methods).
/// <para>Settable rather than init-only so that <c>AddPgHa(configuration)</c> binds them (the configuration binder's
/// source generator skips init-only properties).</para>
/// </remarks>
public sealed record PostgresConnectionParameters
{
    // The statics are internal: the configuration binder's source generator would take public ones for settings.
    /// <summary>Values accepted for <see cref="SslMode"/> (libpq's).</summary>
    internal static IReadOnlyList<string> SslModes { get; } = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    /// <summary>Values accepted for <see cref="GssEncMode"/> and <see cref="ChannelBinding"/> (libpq's).</summary>
    internal static IReadOnlyList<string> PreferModes { get; } = ["disable", "prefer", "require"];

    /// <summary><c>sslmode</c>: one of <see cref="SslModes"/>.</summary>
    public string? SslMode { get; set; }

    /// <summary><c>sslkey</c>: the client certificate's private key file.</summary>
    public string? SslKey { get; set; }

    /// <summary><c>sslpassword</c>: the passphrase of <see cref="SslKey"/>.</summary>
    public string? SslPassword { get; set; }

    /// <summary><c>sslcert</c>: the client certificate file.</summary>
    public string? SslCert { get; set; }

    /// <summary><c>sslrootcert</c>: the certificate authorities to verify the server against.</summary>
    public string? SslRootCert { get; set; }

    /// <summary><c>sslcrl</c>: a certificate revocation list file (libpq-based tools only).</summary>
    public string? SslCrl { get; set; }

    /// <summary><c>sslcrldir</c>: a directory of certificate revocation lists (libpq-based tools only).</summary>
    public string? SslCrlDir { get; set; }

    /// <summary><c>gssencmode</c>: one of <see cref="PreferModes"/>.</summary>
    public string? GssEncMode { get; set; }

    /// <summary><c>channel_binding</c>: one of <see cref="PreferModes"/>.</summary>
    public string? ChannelBinding { get; set; }

    /// <summary>True when nothing is configured (libpq's and Npgsql's defaults apply).</summary>
    public bool IsEmpty => this == new PostgresConnectionParameters();

    /// <summary>The problems of the configured values, each naming the key (empty when valid).</summary>
    public IEnumerable<string> Problems()
    {
        if (SslMode is { } s && !SslModes.Contains(s, StringComparer.Ordinal))
            yield return $"sslmode '{s}' is not one of {string.Join(", ", SslModes)}";
        if (GssEncMode is { } g && !PreferModes.Contains(g, StringComparer.Ordinal))
            yield return $"gssencmode '{g}' is not one of {string.Join(", ", PreferModes)}";
        if (ChannelBinding is { } c && !PreferModes.Contains(c, StringComparer.Ordinal))
            yield return $"channel_binding '{c}' is not one of {string.Join(", ", PreferModes)}";
    }

    /// <summary>
    /// The options as libpq keywords, in Patroni's order (<c>sslmode … sslcrldir</c>, <paramref name="applicationName"/>,
    /// <c>gssencmode</c>, <c>channel_binding</c>); unset ones are null (<see cref="ConnInfo.Build"/> skips them) unless
    /// <paramref name="preferByDefault"/> fills the three modes with <c>prefer</c>, as Patroni does for
    /// <c>primary_conninfo</c>.
    /// </summary>
    internal IEnumerable<KeyValuePair<string, string?>> ToLibpq(string? applicationName = null, bool preferByDefault = false)
    {
        var fallback = preferByDefault ? "prefer" : null;
        yield return new("sslmode", SslMode ?? fallback);
        yield return new("sslcert", SslCert);
        yield return new("sslkey", SslKey);
        yield return new("sslpassword", SslPassword);
        yield return new("sslrootcert", SslRootCert);
        yield return new("sslcrl", SslCrl);
        yield return new("sslcrldir", SslCrlDir);
        yield return new("application_name", applicationName);
        yield return new("gssencmode", GssEncMode ?? fallback);
        yield return new("channel_binding", ChannelBinding ?? fallback);
    }

    /// <summary>
    /// Sets the Npgsql equivalents on <paramref name="builder"/>. An unset <c>gssencmode</c> becomes
    /// <see cref="GssEncryptionMode.Disable"/> rather than Npgsql's <c>prefer</c>, which loads the Kerberos libraries
    /// into the agent for nothing; <c>sslcrl</c>/<c>sslcrldir</c> have no Npgsql equivalent and are not applied.
    /// With <paramref name="unixSocket"/> the SSL options are left out: libpq ignores <c>sslmode</c> on a Unix-domain
    /// socket, but Npgsql would refuse the connection (the server offers no SSL there).
    /// </summary>
    internal void ApplyTo(NpgsqlConnectionStringBuilder builder, bool unixSocket = false)
    {
        if (!unixSocket)
        {
            if (SslMode is { } sslMode) builder.SslMode = ToNpgsqlSslMode(sslMode);
            if (SslRootCert is { } root) builder.RootCertificate = root;
            if (SslCert is { } cert) builder.SslCertificate = cert;
            if (SslKey is { } key) builder.SslKey = key;
            if (SslPassword is { } password) builder.SslPassword = password;
        }
        builder.GssEncryptionMode = GssEncMode switch
        {
            null or "disable" => GssEncryptionMode.Disable,
            "prefer" => GssEncryptionMode.Prefer,
            "require" => GssEncryptionMode.Require,
            _ => throw Invalid("gssencmode", GssEncMode, PreferModes),
        };
        if (ChannelBinding is { } binding)
            builder.ChannelBinding = binding switch
            {
                "disable" => Npgsql.ChannelBinding.Disable,
                "prefer" => Npgsql.ChannelBinding.Prefer,
                "require" => Npgsql.ChannelBinding.Require,
                _ => throw Invalid("channel_binding", binding, PreferModes),
            };
    }

    /// <summary>Never prints <see cref="SslPassword"/>.</summary>
    public override string ToString() =>
        string.Join(' ', ToLibpq().Where(p => p.Value is not null).Select(p => p.Key + "=" + (p.Key == "sslpassword" ? "(set)" : p.Value)));

    private static SslMode ToNpgsqlSslMode(string sslMode) => sslMode switch
    {
        "disable" => Npgsql.SslMode.Disable,
        "allow" => Npgsql.SslMode.Allow,
        "prefer" => Npgsql.SslMode.Prefer,
        "require" => Npgsql.SslMode.Require,
        "verify-ca" => Npgsql.SslMode.VerifyCA,
        "verify-full" => Npgsql.SslMode.VerifyFull,
        _ => throw Invalid("sslmode", sslMode, SslModes),
    };

    private static ArgumentException Invalid(string key, string value, IReadOnlyList<string> allowed) =>
        new($"{key} '{value}' is not one of {string.Join(", ", allowed)}");
}
