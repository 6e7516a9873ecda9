using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace FlatLora.Abstractions.Security;

/// <summary>
/// StackExchange.Redis options from a connection string. With the cluster's TLS and a Redis over TLS (<c>ssl=true</c>),
/// the Redis certificate must chain to the cluster CA (not the machine's trust store, which does not know it) and
/// this process presents its own certificate, so a Redis started with <c>--tls-auth-clients yes</c> accepts only
/// the cluster's silos and clients.
/// </summary>
public static class RedisConnections
{
    public static ConfigurationOptions Options(string connectionString, ClusterTls? tls)
    {
        ConfigurationOptions options = ConfigurationOptions.Parse(connectionString);
        if (tls is not null && options.Ssl)
        {
            options.CertificateValidation += (_, certificate, _, _) =>
                certificate is not null && ClusterTls.ChainsTo(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), tls.Authority);
            options.CertificateSelection += (_, _, _, _, _) => tls.Certificate;
        }
        return options;
    }
}
