using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Messaging;

namespace FlatLora.Client.Cluster;

/// <summary>
/// After a failed connect, finds out whether TLS was the reason: Orleans' client only reports that it gave up. It
/// opens a TLS handshake to one gateway the client knew of (its certificate is not trusted here: this only tells
/// whether the gateway speaks TLS: the handshake is abandoned as soon as the gateway shows a certificate).
/// </summary>
internal static class TlsProbe
{
    public static async Task<bool> GatewaySpeaksTlsAsync(IHost client)
    {
        bool sawCertificate = false;
        try
        {
            IGatewayListProvider? gateways = client.Services.GetService<IGatewayListProvider>();
            if (gateways is null)
                return false;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            Uri? gateway = (await gateways.GetGateways().WaitAsync(timeout.Token).ConfigureAwait(false)).FirstOrDefault();
            if (gateway is null)
                return false;
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(gateway.Host, gateway.Port, timeout.Token).ConfigureAwait(false);
            await using var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "flatlora-silo",
                // Refused in every case: a certificate shown is all this needs to know.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    sawCertificate = certificate is not null;
                    return false;
                },
            }, timeout.Token).ConfigureAwait(false);
            return sawCertificate;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return sawCertificate;
        }
    }
}
