using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Messaging;
using StackExchange.Redis;

namespace FlatLora.Client.Cluster;

/// <summary>
/// After a failed connect, finds out whether TLS was the reason: Orleans' client only reports that it gave up. It
/// opens a TLS handshake to the cluster's Redis and to one gateway the client knew of, and abandons it as soon as the
/// other side shows a certificate (nothing is trusted or sent: this only tells whether it speaks TLS).
/// </summary>
internal static class TlsProbe
{
    public static async Task<bool> ClusterSpeaksTlsAsync(IHost client, string? redis)
    {
        var endpoints = new List<(string Host, int Port)>();
        if (redis is not null)
        {
            foreach (EndPoint endpoint in ConfigurationOptions.Parse(redis).EndPoints)
            {
                if (endpoint is DnsEndPoint dns)
                    endpoints.Add((dns.Host, dns.Port));
                else if (endpoint is IPEndPoint ip)
                    endpoints.Add((ip.Address.ToString(), ip.Port));
            }
        }
        if (await GatewayAsync(client).ConfigureAwait(false) is Uri gateway)
            endpoints.Add((gateway.Host, gateway.Port));
        foreach ((string host, int port) in endpoints)
        {
            if (await SpeaksTlsAsync(host, port).ConfigureAwait(false))
                return true;
        }
        return false;
    }

    private static async Task<Uri?> GatewayAsync(IHost client)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            IGatewayListProvider? gateways = client.Services.GetService<IGatewayListProvider>();
            return gateways is null ? null : (await gateways.GetGateways().WaitAsync(timeout.Token).ConfigureAwait(false)).FirstOrDefault();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;   // no gateway list (for example Redis itself refused us)
        }
    }

    private static async Task<bool> SpeaksTlsAsync(string host, int port)
    {
        bool sawCertificate = false;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            await using var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
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
