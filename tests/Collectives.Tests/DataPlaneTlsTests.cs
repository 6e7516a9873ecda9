using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Collectives.Tests;

/// <summary>The data plane over mutual TLS: a peer certified by the cluster CA gets through, any other peer does not.</summary>
public sealed class DataPlaneTlsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);
    private static readonly byte[] Secret = [7, 7, 7];
    private readonly X509Certificate2 _ca = Authority("CN=test cluster CA"), _otherCa = Authority("CN=someone else's CA");

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
    public void A_certified_peer_sends_and_a_foreign_or_plaintext_one_is_refused()
    {
        var inbox = new GradientInbox();
        using DataPlaneListener listener = DataPlaneListener.Start(inbox, new IPEndPoint(IPAddress.Loopback, 0), Tls(Issue(_ca, "silo-b")));
        using RingMailbox mailbox = inbox.Register("exp/t", 1, 1, 2, Secret);
        var edge = new RingEdge("exp/t", 1, 0, 1, Secret);

        // A certificate from another CA, and plaintext: both fail below the handshake, and the edge stays free.
        using (var foreign = new TcpRingTransport(listener.LocalEndpoint, edge, Timeout, Tls(Issue(_otherCa, "intruder"))))
            Assert.Throws<PeerUnavailableException>(() => foreign.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 1, 0), [9f], CancellationToken.None));
        using (var plaintext = new TcpRingTransport(listener.LocalEndpoint, edge, Timeout))
            Assert.ThrowsAny<Exception>(() => plaintext.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 1, 0), [9f], CancellationToken.None));
        Assert.Null(mailbox.PeerAddress);

        using var certified = new TcpRingTransport(listener.LocalEndpoint, edge, Timeout, Tls(Issue(_ca, "silo-a")));
        certified.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 1, 0), [2.5f], CancellationToken.None);
        using RingSlice received = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([2.5f], received.Values.ToArray());
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }
}
