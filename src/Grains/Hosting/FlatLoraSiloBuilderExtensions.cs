using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Cluster;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Persistence;
using FlatLora.Grains.Telemetry;
using FlatLora.Collectives;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace FlatLora.Grains.Hosting;

/// <summary>Everything a silo needs to host FlatLora grains (the host still picks clustering and the "flatlora" storage).</summary>
public static class FlatLoraSiloBuilderExtensions
{
    public static ISiloBuilder AddFlatLoraGrains(this ISiloBuilder builder, Action<FlatLoraClusterOptions>? configure = null)
    {
        builder.Services.AddSerializer(serializer => serializer.AddFlatLoraSerialization());
        // Grain state is stored with Orleans' own serializer (the [Id]s of the state classes, the spec JSON codec).
        // The default JSON storage serializer skips default values, which brought lora.dropout 0 back as 0.05.
        builder.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        builder.AddPlacementDirector<SiloBoundPlacement, SiloBoundPlacementDirector>();
        builder.AddPlacementDirector<OldestSiloPlacement, OldestSiloPlacementDirector>();
        // Progress travels on the stream provider the host registered under this name (persistent queues), else on
        // memory streams. Subscriptions live in "PubSubStore": whatever the host registered (Redis with Redis storage),
        // else memory.
        if (!builder.Services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, ProgressStreams.Provider) && d.ServiceType == typeof(Orleans.Streams.IStreamProvider)))
            builder.AddMemoryStreams(ProgressStreams.Provider);
        if (!builder.Services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, ProgressStreams.PubSubStorage) && d.ServiceType == typeof(IGrainStorage)))
            builder.AddMemoryGrainStorage(ProgressStreams.PubSubStorage);
        OptionsBuilder<FlatLoraClusterOptions> options = builder.Services.AddOptions<FlatLoraClusterOptions>();
        if (configure is not null)
            options.Configure(configure);
        builder.Services.AddOptions<SiloMessagingOptions>().Configure<IOptions<FlatLoraClusterOptions>>((messaging, cluster) =>
            messaging.ResponseTimeout = cluster.Value.ResponseTimeout);
        builder.Services.AddOptions<Abstractions.Scheduling.SchedulingSettings>();
        builder.Services.TryAddSingleton<SchedulingConfig>();
        builder.Services.TryAddSingleton<Abstractions.Scheduling.ISchedulingSettings>(sp => sp.GetRequiredService<SchedulingConfig>());
        builder.Services.TryAddSingleton<StorageHealth>();
        builder.Services.TryAddSingleton<Experiments.SeedStartGate>();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<TrainingMeter>();
        builder.Services.TryAddSingleton<ClusterMeter>();
        builder.Services.AddSingleton<GrainShardReporter>();
        builder.Services.TryAddSingleton<IShardReporter>(sp => sp.GetRequiredService<GrainShardReporter>());
        builder.Services.TryAddSingleton<IShardJobRunner, TrainingJobRunner>();
        // Gradient slices for the ranks on this silo land here, from the data-plane listener or from ranks in this process.
        builder.Services.TryAddSingleton<GradientInbox>();
        builder.Services.AddSingleton<DeviceWorkerPool>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DeviceWorkerShutdown>();
        builder.Services.AddHostedService<ClusterWatchdog>();
        return builder;
    }
}
