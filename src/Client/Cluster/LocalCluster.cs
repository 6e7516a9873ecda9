using System.Net;
using FlatLora.Api.Hosting;
using FlatLora.Api.Identity;
using FlatLora.Grains;
using FlatLora.Grains.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlatLora.Client.Cluster;

/// <summary>
/// `--local` and the demo: an Orleans silo in this process, with its CPU shards, serving the same public API as a
/// cluster's silos on a free loopback port (authentication off: the caller is this process's user). Commands then
/// speak to it exactly as to a cluster, so the embedded path runs the real one.
/// </summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly WebApplication _host;

    private LocalCluster(WebApplication host, int apiPort)
    {
        _host = host;
        ApiEndpoint = $"127.0.0.1:{apiPort}";
    }

    /// <summary>host:port of its API.</summary>
    public string ApiEndpoint { get; }

    public static async Task<LocalCluster> StartAsync(int cpuSlots, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error).AddFilter("Polly", LogLevel.Error).AddFilter("Microsoft.AspNetCore", LogLevel.Error);
        // Free loopback ports, so the in-process silo never collides with a real silo on this machine.
        int[] ports = LoopbackPorts.Take(3);
        builder.UseOrleans(silo =>
        {
            silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = "local");
            silo.UseLocalhostClustering(ports[0], ports[1], serviceId: "flatlora-local", clusterId: "flatlora-local");
            silo.AddMemoryGrainStorage(StorageNames.Default);
            silo.AddFlatLoraGrains(o => o.CpuSlots = cpuSlots);
        });
        builder.Services.AddFlatLoraApi(builder.Configuration, AuthMode.None);
        builder.WebHost.UseUrls();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenApi(new IPEndPoint(IPAddress.Loopback, ports[2]), tls: null));
        WebApplication host = builder.Build();
        host.MapFlatLoraApi();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw new ClusterUnavailableException($"the in-process silo did not start ({e.GetBaseException().Message})", e);
        }
        return new LocalCluster(host, ports[2]);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _host.DisposeAsync().ConfigureAwait(false);
        }
    }
}
