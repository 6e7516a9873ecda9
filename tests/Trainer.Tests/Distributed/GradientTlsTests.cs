using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Trainer.Distributed;

namespace FlatLora.Trainer.Tests.Distributed;

/// <summary>Gradient pushes over mutual TLS: a peer certified by the cluster CA gets through, any other peer does not.</summary>
public sealed class GradientTlsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly X509Certificate2 _ca, _otherCa;

    public GradientTlsTests()
    {
        _ca = Authority("CN=test cluster CA");
        _otherCa = Authority("CN=someone else's CA");
    }

    private static X509Certificate2 Authority(string name)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private GradientTls Tls(X509Certificate2 certificate) => new(certificate, peer =>
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(peer);
    });

    [Fact]
    public async Task A_certified_peer_pushes_and_an_uncertified_one_is_refused()
    {
        var inbox = new GradientInbox();
        RingMailbox mailbox = inbox.Register("exp/t", 1, 1, [7]);
        await using GradientServer server = await GradientServer.StartAsync(inbox, IPAddress.Loopback, 0, Tls(Issue(_ca, "silo-b")));
        Assert.StartsWith("https://", server.Endpoint);

        await using (var certified = new GrpcRingTransport(server.Endpoint, Timeout, Tls(Issue(_ca, "silo-a"))))
        {
            await certified.SendAsync(new RingMessage(new RingAddress("exp/t", 1, 0, 1, 0, 0, 0), 1, [2.5f]), [7], CancellationToken.None);
            RingMessage received = await mailbox.ReceiveAsync(0, 0, 0, 0, Timeout, CancellationToken.None);
            Assert.Equal([2.5f], received.Values);
        }
        // A certificate from another CA, and plaintext h2c: both fail at the handshake, before any frame is read.
        await using (var foreign = new GrpcRingTransport(server.Endpoint, Timeout, Tls(Issue(_otherCa, "intruder"))))
        {
            await Assert.ThrowsAsync<PeerUnavailableException>(() =>
                foreign.SendAsync(new RingMessage(new RingAddress("exp/t", 1, 0, 1, 0, 1, 0), 1, [9f]), [7], CancellationToken.None));
        }
        await using (var plaintext = new GrpcRingTransport(server.Endpoint.Replace("https://", "http://", StringComparison.Ordinal), Timeout))
        {
            await Assert.ThrowsAsync<PeerUnavailableException>(() =>
                plaintext.SendAsync(new RingMessage(new RingAddress("exp/t", 1, 0, 1, 0, 2, 0), 1, [9f]), [7], CancellationToken.None));
        }
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }
}
