using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace FlatLora.Abstractions.Security;

/// <summary>
/// Mutual TLS for Orleans links (silo to silo, operator tool to gateway) with the cluster's own CA: each side presents
/// its certificate and accepts the other's only if it chains to that CA (built here with a custom trust root, never
/// "allow any") and names a silo or an operator (<see cref="CertificateRoles"/>). Host names are not checked: a silo
/// certificate names the cluster's role, not an address.
/// </summary>
public sealed class ClusterTls
{
    private ClusterTls(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
    }

    public X509Certificate2 Certificate { get; }
    public X509Certificate2 Authority { get; }

    /// <summary>Loads the PEM files; a missing file, a key that does not match, or a certificate that does not chain to the CA is named.</summary>
    /// <param name="what">How to name the files' origin in errors (a setting or option).</param>
    public static ClusterTls Load(string certificatePath, string keyPath, string caPath, string what)
    {
        foreach (string file in new[] { certificatePath, keyPath, caPath })
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"{what}: {file} not found", file);
        }
        X509Certificate2 certificate, authority;
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            // Re-imported so SslStream can use the key on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            authority = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidDataException($"{what}: {certificatePath} with {keyPath}: not a PEM certificate and its private key ({e.Message})", e);
        }
        if (certificate.NotAfter.ToUniversalTime() < DateTime.UtcNow || certificate.NotBefore.ToUniversalTime() > DateTime.UtcNow)
            throw new CertificateRejectedException($"{what}: {certificatePath} is valid only from {certificate.NotBefore.ToUniversalTime():u} to " +
                $"{certificate.NotAfter.ToUniversalTime():u}; the cluster refuses it (issue a new one: `flatlora certs client`)");
        if (!ChainsTo(certificate, authority))
            throw new InvalidDataException($"{what}: {certificatePath} does not chain to the CA {caPath}");
        return new ClusterTls(certificate, authority);
    }

    /// <summary>The files `flatlora certs init` writes: <c>{name}.crt</c>, <c>{name}.key</c> and <c>ca.crt</c> in <paramref name="folder"/>.</summary>
    public static ClusterTls FromFolder(string folder, string name, string what) =>
        Load(Path.Combine(folder, name + ".crt"), Path.Combine(folder, name + ".key"), Path.Combine(folder, ClusterCertificates.CaName + ".crt"), what);

    /// <summary>Whether <paramref name="certificate"/> is valid now and chains to <paramref name="authority"/> alone.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        return chain.Build(certificate) && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span);
    }

    /// <summary>Orleans' TLS options: present our certificate, require the peer's, accept only the cluster CA's.</summary>
    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.SslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12;
        // Only silos and operator tools: a user's certificate (it chains to the same CA) is refused at the handshake, so
        // users reach the cluster through the public API and its policy alone.
        options.RemoteCertificateValidation = (certificate, _, _) => certificate is not null && ChainsTo(certificate, Authority) && CertificateRoles.IsClusterMember(certificate);
        options.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = "flatlora-silo";
    }
}

/// <summary>A certificate the cluster would refuse (expired or not yet valid): said before anything is dialled.</summary>
public sealed class CertificateRejectedException(string message) : Exception(message);
