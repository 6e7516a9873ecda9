using System.Security.Cryptography.X509Certificates;
using FlatLora.Abstractions.Security;

namespace FlatLora.Api.Identity;

/// <summary>The caller a verified client certificate names (<see cref="CertificateRoles"/>).</summary>
public static class CertificateCaller
{
    /// <summary>Throws <see cref="UnidentifiedCallerException"/> naming what the certificate lacks.</summary>
    public static Caller From(X509Certificate2 certificate)
    {
        string role = CertificateRoles.Role(certificate) ?? throw new UnidentifiedCallerException(
            $"the client certificate '{certificate.Subject}' carries no FlatLora role (OU); issue one with `flatlora certs client --name NAME --project PROJECT`");
        string user = CertificateRoles.CommonName(certificate) is { Length: > 0 } cn ? cn
            : throw new UnidentifiedCallerException($"the client certificate '{certificate.Subject}' names no user (CN)");
        return role switch
        {
            CertificateRoles.User or CertificateRoles.Admin => new Caller(user, CertificateRoles.Organization(certificate) is { Length: > 0 } o ? o
                : throw new UnidentifiedCallerException($"the client certificate '{certificate.Subject}' names no project (O)"),
                role == CertificateRoles.Admin, "certificate"),
            // Silos and operator tools act for the cluster itself.
            CertificateRoles.Silo or CertificateRoles.Operator => new Caller(user, CertificateRoles.Organization(certificate) ?? "cluster", Admin: true, "certificate"),
            _ => throw new UnidentifiedCallerException($"the client certificate '{certificate.Subject}' has an unknown role '{role}'"),
        };
    }
}
