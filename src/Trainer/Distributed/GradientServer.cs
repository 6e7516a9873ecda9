using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Hosting of the gradient service. Peers speak HTTP/2 without TLS (h2c), which Kestrel only offers on an
/// HTTP/2-only endpoint, so the service gets a port of its own. The silo maps the service into its web host;
/// <see cref="StartAsync"/> runs a stand-alone server for bench workers and tests.
/// </summary>
public sealed class GradientServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GradientServer(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The address peers use, e.g. "http://127.0.0.1:5050".</summary>
    public string Endpoint { get; }

    /// <summary>The gRPC services and message limits the gradient service needs (frames are at most 256 KB).</summary>
    public static IServiceCollection AddGradientExchange(IServiceCollection services)
    {
        services.AddGrpc(o => o.MaxReceiveMessageSize = 8 << 20);
        return services;
    }

    public static IEndpointRouteBuilder MapGradientExchange(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<GradientExchangeService>();
        return endpoints;
    }

    /// <summary>An HTTP/2-only listen endpoint for the gradient service, with mutual TLS when <paramref name="tls"/> is given.</summary>
    public static void Listen(KestrelServerOptions kestrel, IPAddress address, int port, GradientTls? tls = null)
    {
        ConfigureLimits(kestrel);
        kestrel.Listen(address, port, o =>
        {
            o.Protocols = HttpProtocols.Http2;
            if (tls is not null)
                o.UseHttps(tls.ConfigureServer);
        });
    }

    /// <summary>
    /// HTTP/2 flow-control windows sized for multi-megabyte messages: with Kestrel's defaults (1 MB per connection, 768 KB
    /// per stream) a sender stalls for a window update several times per frame.
    /// </summary>
    public static void ConfigureLimits(KestrelServerOptions kestrel)
    {
        kestrel.Limits.Http2.InitialConnectionWindowSize = 32 << 20;
        kestrel.Limits.Http2.InitialStreamWindowSize = 16 << 20;
        kestrel.Limits.Http2.MaxFrameSize = 1 << 20;
    }

    /// <summary>Starts a server on <paramref name="port"/> (0: any free port) that delivers into <paramref name="inbox"/>.</summary>
    public static async Task<GradientServer> StartAsync(GradientInbox inbox, IPAddress address, int port, GradientTls? tls = null,
        CancellationToken cancellationToken = default)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => Listen(k, address, port, tls));
        builder.Services.AddSingleton(inbox);
        AddGradientExchange(builder.Services);
        WebApplication app = builder.Build();
        MapGradientExchange(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new GradientServer(app, bound);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
