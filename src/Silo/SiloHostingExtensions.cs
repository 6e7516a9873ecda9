using System.Net;
using FlatLora.Grains;
using FlatLora.Grains.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace FlatLora.Silo;

/// <summary>Configures Orleans for this host from <see cref="SiloSettings"/> and <see cref="FlatLoraClusterOptions"/>.</summary>
public static class SiloHostingExtensions
{
    public static IHostApplicationBuilder AddFlatLoraSilo(this IHostApplicationBuilder builder)
    {
        SiloSettings settings = builder.Configuration.GetSection(SiloSettings.Section).Get<SiloSettings>() ?? new SiloSettings();
        Validate(settings);
        builder.UseOrleans(silo =>
        {
            silo.Configure<SiloOptions>(o => o.SiloName = settings.Name ?? Environment.MachineName);
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            if (settings.Clustering.Equals("Redis", StringComparison.OrdinalIgnoreCase))
            {
                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(settings.Redis!));
                IPAddress address = settings.AdvertisedIp is null ? IPAddress.Loopback : IPAddress.Parse(settings.AdvertisedIp);
                silo.ConfigureEndpoints(address, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: settings.AdvertisedIp is not null);
            }
            else
            {
                IPEndPoint? primary = settings.PrimarySiloPort is int port ? new IPEndPoint(IPAddress.Loopback, port) : null;
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, primary, settings.ServiceId, settings.ClusterId);
            }
            if (settings.Storage.Equals("Redis", StringComparison.OrdinalIgnoreCase))
                silo.AddRedisGrainStorage(StorageNames.Default, o => o.ConfigurationOptions = ConfigurationOptions.Parse(settings.Redis!));
            else
                silo.AddMemoryGrainStorage(StorageNames.Default);
            silo.AddFlatLoraGrains(o => builder.Configuration.GetSection("FlatLora:Cluster").Bind(o));
        });
        return builder;
    }

    private static void Validate(SiloSettings settings)
    {
        if (settings.Clustering is not ("Localhost" or "Redis"))
            throw new ArgumentException($"{SiloSettings.Section}:Clustering must be Localhost or Redis (got '{settings.Clustering}')");
        if (settings.Storage is not ("Memory" or "Redis"))
            throw new ArgumentException($"{SiloSettings.Section}:Storage must be Memory or Redis (got '{settings.Storage}')");
        if ((settings.Clustering == "Redis" || settings.Storage == "Redis") && string.IsNullOrWhiteSpace(settings.Redis))
            throw new ArgumentException($"{SiloSettings.Section}:Redis (a connection string) is needed for Redis clustering or storage");
        if (settings.AdvertisedIp is not null && !IPAddress.TryParse(settings.AdvertisedIp, out _))
            throw new ArgumentException($"{SiloSettings.Section}:AdvertisedIp '{settings.AdvertisedIp}' is not an IP address");
    }
}
