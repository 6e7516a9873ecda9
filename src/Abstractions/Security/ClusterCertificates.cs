using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FlatLora.Abstractions.Security;

/// <summary>
/// The cluster's own certificate authority and the certificates it issues (PEM files, made with .NET's
/// <see cref="CertificateRequest"/>): <c>ca.crt</c>/<c>ca.key</c>, a silo certificate (server and client
/// authentication: silos dial each other) and client certificates (client authentication only).
/// </summary>
public static class ClusterCertificates
{
    public const string CaName = "ca";
    public const string SiloName = "silo";
    public const string ClientName = "client";
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>Writes a new CA, a silo certificate for <paramref name="dnsNames"/> and a client certificate into <paramref name="folder"/>.</summary>
    public static IReadOnlyList<string> Init(string folder, IReadOnlyList<string> dnsNames, int days)
    {
        if (File.Exists(Path.Combine(folder, CaName + ".key")))
            throw new IOException($"{Path.Combine(folder, CaName + ".key")} exists: a cluster CA is already there (choose another --out)");
        Directory.CreateDirectory(folder);
        using RSA caKey = RSA.Create(3072);
        var request = new CertificateRequest("CN=FlatLora cluster CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(days));
        var written = new List<string> { Write(folder, CaName, ca, caKey) };
        written.Add(Issue(folder, SiloName, "flatlora-silo", ca, caKey, dnsNames.Count > 0 ? dnsNames : ["localhost", "flatlora-silo"], server: true, days));
        written.Add(Issue(folder, ClientName, "flatlora-client", ca, caKey, [], server: false, days));
        return written;
    }

    /// <summary>Issues one more client certificate, CN <paramref name="name"/>, from the CA in <paramref name="caFolder"/> into a folder of its own.</summary>
    public static IReadOnlyList<string> IssueClient(string caFolder, string name, string outFolder, int days)
    {
        if (name.Length == 0 || name.Any(c => char.IsControl(c) || c is ',' or '=' or '+' or '"' or '\\' or '<' or '>' or ';'))
            throw new ArgumentException($"--name: '{name}' cannot be a certificate's common name");
        if (File.Exists(Path.Combine(outFolder, ClientName + ".key")))
            throw new IOException($"--out: {Path.Combine(outFolder, ClientName + ".key")} exists (choose another folder)");
        (X509Certificate2 ca, RSA caKey) = LoadAuthority(caFolder);
        using (ca)
        using (caKey)
        {
            Directory.CreateDirectory(outFolder);
            File.Copy(Path.Combine(caFolder, CaName + ".crt"), Path.Combine(outFolder, CaName + ".crt"), overwrite: true);
            // client.crt / client.key whatever the name (the CN carries it), so the folder is a --tls-dir as it is.
            return [Issue(outFolder, ClientName, name, ca, caKey, [], server: false, days), Path.Combine(outFolder, CaName + ".crt")];
        }
    }

    private static (X509Certificate2 Ca, RSA Key) LoadAuthority(string folder)
    {
        string crt = Path.Combine(folder, CaName + ".crt"), key = Path.Combine(folder, CaName + ".key");
        foreach (string file in new[] { crt, key })
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"--ca: {file} not found (`flatlora certs init` creates it)", file);
        }
        var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(key));
        return (X509Certificate2.CreateFromPem(File.ReadAllText(crt)), rsa);
    }

    private static string Issue(string folder, string fileName, string commonName, X509Certificate2 ca, RSA caKey, IReadOnlyList<string> dnsNames,
        bool server, int days)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(server ? new OidCollection { ServerAuth, ClientAuth } : new OidCollection { ClientAuth }, false));
        if (dnsNames.Count > 0)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (string dns in dnsNames)
                names.AddDnsName(dns);
            request.CertificateExtensions.Add(names.Build());
        }
        DateTimeOffset now = DateTimeOffset.UtcNow;
        DateTimeOffset notAfter = now.AddDays(days) < ca.NotAfter ? now.AddDays(days) : ca.NotAfter;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 certificate = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            now.AddMinutes(-5), notAfter, serial);
        return Write(folder, fileName, certificate, key);
    }

    private static string Write(string folder, string name, X509Certificate2 certificate, RSA key)
    {
        string crt = Path.Combine(folder, name + ".crt"), keyFile = Path.Combine(folder, name + ".key");
        File.WriteAllText(crt, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);   // a private key is its owner's alone
        return crt;
    }
}
