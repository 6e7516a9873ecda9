using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Abstractions.Security;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlatLora.Client.Cluster;

/// <summary>
/// The gRPC channel to a cluster's API: every address given, tried in order (pick_first: a silo that dies is left for
/// the next), over TLS with the caller's certificate checked by and checking the cluster CA, or over plaintext HTTP/2;
/// a bearer token rides on every call when given.
/// </summary>
internal static class ApiChannel
{
    public static GrpcChannel Create(ApiOptions options)
    {
        // Certificates are read (and checked against their CA) before anything is dialled: a bad file is bad input.
        ClientCredentials? credentials = options.TlsDirectory is string folder ? ClientCredentials.FromFolder(folder) : null;
        BalancerAddress[] addresses = [.. options.Api.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Address)];
        if (addresses.Length == 0)
            throw new ArgumentException("--api: give host:port of the cluster's API");
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => addresses));
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
        };
        if (credentials is not null)
            handler.SslOptions = credentials.SslOptions();
        ChannelCredentials channelCredentials = credentials is null ? ChannelCredentials.Insecure : ChannelCredentials.SecureSsl;
        if (options.Token is string token)
        {
            channelCredentials = ChannelCredentials.Create(channelCredentials, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("Authorization", $"Bearer {token}");
                return Task.CompletedTask;
            }));
        }
        return GrpcChannel.ForAddress("static:///flatlora-api", new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = channelCredentials,
            UnsafeUseInsecureChannelCallCredentials = credentials is null,   // a token over plaintext: the server warns about it
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new PickFirstConfig() } },
            MaxReceiveMessageSize = 64 << 20,
        });
    }

    private static BalancerAddress Address(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
            throw new ArgumentException($"--api: '{endpoint}' is not host:port");
        return new BalancerAddress(endpoint[..colon].Trim('[', ']'), port);
    }

    /// <summary>The caller's TLS material: the cluster CA to trust the API by, and the client certificate when the folder has one.</summary>
    private sealed record ClientCredentials(X509Certificate2 Authority, X509Certificate2? Certificate)
    {
        public static ClientCredentials FromFolder(string folder)
        {
            string ca = Path.Combine(folder, ClusterCertificates.CaName + ".crt");
            if (!File.Exists(Path.Combine(folder, ClusterCertificates.ClientName + ".crt")))
            {
                if (!File.Exists(ca))
                    throw new FileNotFoundException($"--tls-dir: {ca} not found (`flatlora certs init` or `certs client` writes it)", ca);
                return new ClientCredentials(X509Certificate2.CreateFromPem(File.ReadAllText(ca)), null);
            }
            ClusterTls tls;
            try
            {
                tls = ClusterTls.FromFolder(folder, ClusterCertificates.ClientName, "--tls-dir");
            }
            catch (CertificateRejectedException e)
            {
                // The cluster would refuse it: the same answer (exit 3) as a refused handshake, said without dialling.
                throw new ClusterUnavailableException($"could not reach the cluster: TLS: {e.Message}", e);
            }
            return new ClientCredentials(tls.Authority, tls.Certificate);
        }

        public SslClientAuthenticationOptions SslOptions() => new()
        {
            ClientCertificates = Certificate is null ? null : [Certificate],
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13 | System.Security.Authentication.SslProtocols.Tls12,
            // The API's certificate must chain to the cluster CA alone; host names are not checked (silos are reached by address).
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 server && ClusterTls.ChainsTo(server, Authority),
        };
    }
}
