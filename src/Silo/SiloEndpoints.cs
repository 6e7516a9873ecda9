using System.Net;
using FlatLora.Abstractions.Security;
using FlatLora.Api.Hosting;
using FlatLora.Collectives.Tcp;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace FlatLora.Silo;

/// <summary>
/// Every HTTP port of a silo, bound explicitly so each has its own protocols and TLS: the addresses of "Urls" (/health
/// and /metrics, plain HTTP), the gradient ring's control port (HTTP/2; https with mutual TLS), and the public API
/// (see <see cref="ApiHosting.ListenApi"/>).
/// </summary>
internal static class SiloEndpoints
{
    public static WebApplicationBuilder AddSiloEndpoints(this WebApplicationBuilder builder, SiloSettings settings, ClusterTls? tls, ApiTls? apiTls)
    {
        string urls = builder.Configuration["urls"] is { Length: > 0 } configured ? configured : "http://localhost:5000";
        IPEndPoint[] plain = [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(PlainEndpoint)];
        builder.WebHost.UseUrls();   // every address is bound below, none from "Urls" directly
        IPAddress listen = IPAddress.Parse(settings.ListenIp);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (IPEndPoint endpoint in plain)
                kestrel.Listen(endpoint);
            if (settings.GrpcPort != 0)
            {
                kestrel.Listen(listen, settings.GrpcListenPort ?? settings.GrpcPort, control =>
                {
                    control.Protocols = HttpProtocols.Http2;
                    if (tls is not null)
                    {
                        control.UseHttps(new HttpsConnectionAdapterOptions
                        {
                            ServerCertificate = tls.Certificate,
                            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                            ClientCertificateValidation = (certificate, _, _) => ClusterTls.ChainsTo(certificate, tls.Authority),
                            SslProtocols = GradientTls.Protocols,
                        });
                    }
                });
            }
            if (settings.ApiPort != 0)
                kestrel.ListenApi(new IPEndPoint(listen, settings.ApiListenPort ?? settings.ApiPort), apiTls);
        });
        return builder;
    }

    // "http://127.0.0.1:8080", "http://localhost:8080", "http://*:8080" or "http://0.0.0.0:8080".
    private static IPEndPoint PlainEndpoint(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal),
                UriKind.Absolute, out Uri? uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsDefaultPort && !url.Contains(":80", StringComparison.Ordinal))
            throw new ArgumentException($"Urls: '{url}' must be http://address:port (/health and /metrics are plain HTTP; the API port has its own TLS)");
        IPAddress address = uri.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host, out IPAddress? ip) ? ip
            : throw new ArgumentException($"Urls: '{url}' must name an IP address or localhost");
        return new IPEndPoint(address, uri.Port);
    }
}
