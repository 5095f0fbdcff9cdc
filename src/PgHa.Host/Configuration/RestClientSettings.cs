using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PgHa.Host.Configuration;

/// <summary>
/// How this node calls other nodes' REST APIs, for <c>pgha ctl</c> and for the agent's own peer calls alike: the
/// <c>ctl</c> settings first, falling back to <c>restapi</c> (Patroni's <c>PatroniRequest</c> reads its
/// <c>auth</c>, <c>certfile</c>, <c>keyfile</c>, <c>keyfile_password</c> and CA the same way for both).
/// </summary>
internal static class RestClientSettings
{
    /// <summary>
    /// A handler presenting the client certificate (<c>ctl.certfile</c>, else <c>restapi.certfile</c>) and checking
    /// the server against <c>ctl.cacert</c> (else <c>restapi.cafile</c>, else the system store), or not at all when
    /// <paramref name="insecure"/> or <c>ctl.insecure</c>.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(PgHaConfig config, bool insecure)
    {
        ArgumentNullException.ThrowIfNull(config);
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
        insecure |= config.Ctl.Insecure;
        var certFile = config.Ctl.CertFile ?? config.RestApi?.CertFile;
        var keyFile = config.Ctl.KeyFile ?? config.RestApi?.KeyFile;
        var keyPassword = config.Ctl.KeyFilePassword ?? config.RestApi?.KeyFilePassword;
        if (certFile is not null)
        {
            var cert = keyPassword is not null
                ? X509Certificate2.CreateFromEncryptedPemFile(certFile, keyPassword.Reveal(), keyFile)
                : X509Certificate2.CreateFromPemFile(certFile, keyFile);
            handler.SslOptions.ClientCertificates = [cert];
        }
        var caFile = config.Ctl.CaCert ?? config.RestApi?.CaFile;
        if (insecure)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (caFile is not null)
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null) return false;
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }

    /// <summary>The Basic credentials to send: <c>ctl.authentication</c>, else <c>restapi.authentication</c>; null: none.</summary>
    public static NetworkCredential? Credentials(PgHaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return (config.Ctl.Authentication ?? config.RestApi?.Authentication) is { } auth
            ? new NetworkCredential(auth.Username, auth.Password.Reveal())
            : null;
    }
}
