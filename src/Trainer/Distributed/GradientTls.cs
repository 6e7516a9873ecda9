using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Mutual TLS for gradient connections: this node's certificate, presented as server and as client, and the check a
/// peer's certificate must pass (the cluster CA's chain; host names are not checked: peers are dialled by IP).
/// </summary>
public sealed record GradientTls(X509Certificate2 Certificate, Func<X509Certificate2, bool> IsTrusted)
{
    private const SslProtocols Protocols = SslProtocols.Tls13 | SslProtocols.Tls12;

    /// <summary>Kestrel's side: present the certificate, require the peer's, accept only a trusted one.</summary>
    public void ConfigureServer(HttpsConnectionAdapterOptions https)
    {
        https.ServerCertificate = Certificate;
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = (certificate, _, _) => IsTrusted(certificate);
        https.SslProtocols = Protocols;
    }

    /// <summary>The dialling side.</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        ClientCertificates = [Certificate],
        EnabledSslProtocols = Protocols,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 peer && IsTrusted(peer),
    };
}
