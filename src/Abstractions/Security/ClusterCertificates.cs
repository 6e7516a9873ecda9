using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FlatLora.Abstractions.Security;

/// <summary>
/// The cluster's own certificate authority and the certificates it issues (PEM files, made with .NET's
/// <see cref="CertificateRequest"/>): <c>ca.crt</c>/<c>ca.key</c>, a silo certificate (server and client
/// authentication: silos dial each other) and client certificates (client authentication only). Each names its holder's
/// role in its OU (<see cref="CertificateRoles"/>): the Orleans ports take only silos and operators, the public API
/// users (CN the user, O the project) too.
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
        // Any certificate of a cluster means a CA is there (its key may have gone offline, as it should): never replaced.
        string[] present = [.. new[] { CaName, SiloName, ClientName }.SelectMany(n => new[] { n + ".crt", n + ".key" }).Where(f => File.Exists(Path.Combine(folder, f)))];
        if (present.Length > 0)
            throw new ArgumentException($"--out: {folder} already holds cluster certificates ({string.Join(", ", present)}); a new CA there would replace " +
                                        "the cluster's (choose another --out)");
        Directory.CreateDirectory(folder);
        using RSA caKey = RSA.Create(3072);
        var request = new CertificateRequest("CN=FlatLora cluster CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(days));
        var written = new List<string> { Write(folder, CaName, ca, caKey) };
        written.Add(Issue(folder, SiloName, Subject("flatlora-silo", null, CertificateRoles.Silo), ca, caKey,
            dnsNames.Count > 0 ? dnsNames : ["localhost", "flatlora-silo"], server: true, days));
        // The first client is the cluster's admin (a user of the API with every right), not an Orleans client.
        written.Add(Issue(folder, ClientName, Subject("admin", "admins", CertificateRoles.Admin), ca, caKey, [], server: false, days));
        return written;
    }

    /// <summary>The roles `certs client --role` issues: an API user, a cluster admin, or an operator tool that may reach the Orleans gateway.</summary>
    public static readonly string[] ClientRoles = ["user", "admin", "operator"];

    /// <summary>
    /// Issues one more client certificate from the CA in <paramref name="caFolder"/> into a folder of its own: CN
    /// <paramref name="name"/>, O <paramref name="project"/>, OU the role.
    /// </summary>
    public static IReadOnlyList<string> IssueClient(string caFolder, string name, string project, string role, string outFolder, int days)
    {
        if (!IsNamePart(name))
            throw new ArgumentException($"--name: '{name}' cannot be a certificate's common name");
        if (!IsNamePart(project))
            throw new ArgumentException($"--project: '{project}' cannot be a certificate's organization");
        string unit = role switch
        {
            "user" => CertificateRoles.User,
            "admin" => CertificateRoles.Admin,
            "operator" => CertificateRoles.Operator,
            _ => throw new ArgumentException($"--role: must be one of {string.Join(", ", ClientRoles)} (got '{role}')"),
        };
        if (File.Exists(Path.Combine(outFolder, ClientName + ".key")))
            throw new ArgumentException($"--out: {Path.Combine(outFolder, ClientName + ".key")} exists (choose another folder)");
        (X509Certificate2 ca, RSA caKey) = LoadAuthority(caFolder);
        using (ca)
        using (caKey)
        {
            Directory.CreateDirectory(outFolder);
            File.Copy(Path.Combine(caFolder, CaName + ".crt"), Path.Combine(outFolder, CaName + ".crt"), overwrite: true);
            // client.crt / client.key whatever the name (the CN carries it), so the folder is a --tls-dir as it is.
            return [Issue(outFolder, ClientName, Subject(name, project, unit), ca, caKey, [], server: false, days), Path.Combine(outFolder, CaName + ".crt")];
        }
    }

    private static bool IsNamePart(string value) =>
        value.Length is > 0 and <= 64 && !value.Any(c => char.IsControl(c) || c is ',' or '=' or '+' or '"' or '\\' or '<' or '>' or ';' or '#');

    private static X500DistinguishedName Subject(string commonName, string? organization, string role)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        if (organization is not null)
            builder.AddOrganizationName(organization);
        builder.AddOrganizationalUnitName(role);
        return builder.Build();
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

    private static string Issue(string folder, string fileName, X500DistinguishedName subject, X509Certificate2 ca, RSA caKey, IReadOnlyList<string> dnsNames,
        bool server, int days)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
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
