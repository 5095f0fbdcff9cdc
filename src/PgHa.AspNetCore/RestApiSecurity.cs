namespace PgHa.AspNetCore;

/// <summary>HTTP Basic credentials the unsafe endpoints require (Patroni's <c>restapi.authentication</c>).</summary>
/// <param name="Username">User name.</param>
/// <param name="Password">Password; never shown by <see cref="ToString"/>.</param>
public sealed record RestApiCredentials(string Username, string Password)
{
    /// <summary>The user name only: the password must not reach a log line through a record's generated text.</summary>
    public override string ToString() => $"RestApiCredentials {{ Username = {Username}, Password = ******** }}";
}

/// <summary>Patroni's <c>restapi.verify_client</c>: when a client certificate is asked for.</summary>
public enum RestApiClientCertificates
{
    /// <summary>No client certificate is asked for (default).</summary>
    None,
    /// <summary>Clients may present one; the unsafe endpoints need a valid one.</summary>
    Optional,
    /// <summary>Every connection needs a valid client certificate (refused during the TLS handshake otherwise).</summary>
    Required,
}

/// <summary>
/// The protections of Patroni's <c>restapi</c> section: TLS with optional client certificates, HTTP Basic
/// authentication and an allowlist on the unsafe (mutating) endpoints, and extra response headers. The TLS files apply
/// to the standalone server (<see cref="RestApiServer.StartAsync(RestApiServerOptions, CancellationToken)"/>); under
/// <c>MapPgHa</c> TLS is the host's own Kestrel configuration, and <see cref="CertFile"/> only says the API is served
/// over HTTPS.
/// </summary>
public sealed record RestApiSecurity
{
    /// <summary>Credentials the unsafe endpoints require; null: none (Patroni without <c>authentication</c>).</summary>
    public RestApiCredentials? Authentication { get; init; }
    /// <summary>Server certificate (PEM); set, the standalone server speaks HTTPS.</summary>
    public string? CertFile { get; init; }
    /// <summary>Private key of <see cref="CertFile"/> (PEM); null: in <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }
    /// <summary>Passphrase of an encrypted <see cref="KeyFile"/>.</summary>
    public string? KeyFilePassword { get; init; }
    /// <summary>CA bundle (PEM) that vouches for client certificates.</summary>
    public string? CaFile { get; init; }
    /// <summary>When a client certificate is asked for (needs <see cref="CertFile"/>).</summary>
    public RestApiClientCertificates VerifyClient { get; init; } = RestApiClientCertificates.None;
    /// <summary>Hosts, addresses or CIDRs allowed to call unsafe endpoints (empty: everyone).</summary>
    public IReadOnlyList<string> Allowlist { get; init; } = [];
    /// <summary>The members' API hosts (from their <c>api_url</c>) may call unsafe endpoints too.</summary>
    public bool AllowlistIncludeMembers { get; init; }
    /// <summary>Headers added to every response.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> HttpExtraHeaders { get; init; } = [];
    /// <summary>Headers added to every response when the API is served over HTTPS.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> HttpsExtraHeaders { get; init; } = [];

    /// <inheritdoc />
    public override string ToString() =>
        $"RestApiSecurity {{ Authentication = {Authentication}, CertFile = {CertFile}, VerifyClient = {VerifyClient}, Allowlist = [{string.Join(", ", Allowlist)}] }}";
}
