using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Abstractions.Security;
using FlatLora.Api.Identity;

namespace FlatLora.Api.Tests;

/// <summary>The caller a certificate `flatlora certs` issued names, and the refusal of one that names no role.</summary>
public sealed class CertificateCallerTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-api-certs", Guid.NewGuid().ToString("N"));

    private X509Certificate2 Issue(string name, string project, string role)
    {
        string ca = Path.Combine(_work, "ca");
        if (!File.Exists(Path.Combine(ca, "ca.crt")))
            ClusterCertificates.Init(ca, [], days: 1);
        string folder = Path.Combine(_work, name);
        ClusterCertificates.IssueClient(ca, name, project, role, folder, days: 1);
        return X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(folder, "client.crt")));
    }

    [Fact]
    public void A_users_certificate_names_its_user_project_and_role()
    {
        using X509Certificate2 alice = Issue("alice", "nlp", "user"), boss = Issue("boss", "nlp", "admin"), ops = Issue("ops", "cluster", "operator");
        Assert.Equal(new Caller("alice", "nlp", false, "certificate"), CertificateCaller.From(alice));
        Assert.True(CertificateCaller.From(boss).Admin);
        Assert.True(CertificateCaller.From(ops).Admin);
        Assert.False(CertificateRoles.IsClusterMember(alice));
        Assert.True(CertificateRoles.IsClusterMember(ops));
    }

    [Fact]
    public void A_certificate_without_a_role_is_refused_saying_how_to_get_one()
    {
        using RSA key = RSA.Create(2048);
        using X509Certificate2 old = new CertificateRequest("CN=flatlora-client", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        var error = Assert.Throws<UnidentifiedCallerException>(() => CertificateCaller.From(old));
        Assert.Contains("carries no FlatLora role (OU)", error.Message);
        Assert.Contains("flatlora certs client", error.Message);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
