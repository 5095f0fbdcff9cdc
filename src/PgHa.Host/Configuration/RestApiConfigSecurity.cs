using PgHa.AspNetCore;

namespace PgHa.Host.Configuration;

/// <summary>The <c>restapi</c> section as the REST API library's protections (the library knows no YAML model).</summary>
internal static class RestApiConfigSecurity
{
    /// <summary>The protections <paramref name="config"/> describes.</summary>
    public static RestApiSecurity ToSecurity(this RestApiConfig config) => new()
    {
        Authentication = config.Authentication is { } auth ? new RestApiCredentials(auth.Username, auth.Password.Reveal()) : null,
        CertFile = config.CertFile,
        KeyFile = config.KeyFile,
        KeyFilePassword = config.KeyFilePassword?.Reveal(),
        CaFile = config.CaFile,
        VerifyClient = config.VerifyClient switch
        {
            ClientCertificateMode.Required => RestApiClientCertificates.Required,
            ClientCertificateMode.Optional => RestApiClientCertificates.Optional,
            _ => RestApiClientCertificates.None,
        },
        Allowlist = config.Allowlist,
        AllowlistIncludeMembers = config.AllowlistIncludeMembers,
        HttpExtraHeaders = config.HttpExtraHeaders.Entries,
        HttpsExtraHeaders = config.HttpsExtraHeaders.Entries,
    };
}
