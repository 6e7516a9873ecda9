using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// Mutual TLS for gradient connections (data plane and control): this node's certificate, presented as server and as
/// client, and the check a peer's certificate must pass (the cluster CA's chain; host names are not checked: peers
/// are dialled by IP). The HMAC handshake still runs inside: TLS proves the node, the handshake the attempt.
/// </summary>
public sealed record GradientTls(X509Certificate2 Certificate, Func<X509Certificate2, bool> IsTrusted)
{
    public const SslProtocols Protocols = SslProtocols.Tls13 | SslProtocols.Tls12;

    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificate = Certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = Protocols,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 peer && IsTrusted(peer),
    };

    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "flatlora-peer",
        ClientCertificates = [Certificate],
        EnabledSslProtocols = Protocols,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 peer && IsTrusted(peer),
    };
}
