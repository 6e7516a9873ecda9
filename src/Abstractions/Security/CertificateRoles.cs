using System.Security.Cryptography.X509Certificates;

namespace FlatLora.Abstractions.Security;

/// <summary>
/// What a cluster certificate says about its holder: the role in its OU ("flatlora-user", "flatlora-admin",
/// "flatlora-operator", "flatlora-silo"), the user in its CN, the project in its O. `flatlora certs` writes them; the
/// Orleans silo and gateway ports admit only silo and operator certificates, the public API users' too.
/// </summary>
public static class CertificateRoles
{
    public const string User = "flatlora-user", Admin = "flatlora-admin", Operator = "flatlora-operator", Silo = "flatlora-silo";

    private const string CommonNameOid = "2.5.4.3", OrganizationOid = "2.5.4.10", UnitOid = "2.5.4.11";

    public static string? Role(X509Certificate2 certificate) => Attribute(certificate, UnitOid);

    public static string? CommonName(X509Certificate2 certificate) => Attribute(certificate, CommonNameOid);

    public static string? Organization(X509Certificate2 certificate) => Attribute(certificate, OrganizationOid);

    /// <summary>Silos and operator tools: the only holders the Orleans silo and gateway ports admit.</summary>
    public static bool IsClusterMember(X509Certificate2 certificate) => Role(certificate) is Silo or Operator;

    private static string? Attribute(X509Certificate2 certificate, string oid)
    {
        foreach (X500RelativeDistinguishedName name in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!name.HasMultipleElements && name.GetSingleElementType().Value == oid)
                return name.GetSingleElementValue();
        }
        return null;
    }
}
