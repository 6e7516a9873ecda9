using System.Collections.Concurrent;
using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Cluster;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace FlatLora.Grains.Tests;

/// <summary>
/// The inventory persists a grant before it sends it: a grant whose write failed (or whose silo died first) must not
/// have reached a run, or a device could be handed out twice after the inventory comes back from storage.
/// </summary>
public sealed class InventoryOrderingTests : IAsyncLifetime
{
    private static readonly ConcurrentQueue<string> Events = new();
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(_cluster.Client, 2);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Every_grant_is_written_before_it_is_sent()
    {
        string id = ClusterWaits.NewId("order");
        var spec = new TrainSpec
        {
            Training = new TrainingSpec { MaxSteps = 3 },
            Experiment = new ExperimentSection { Seeds = [1, 2, 3, 4] },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
        };
        await _cluster.Client.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = spec });
        Assert.Equal(RunState.Completed, (await ClusterWaits.FinalAsync(_cluster.Client, id)).State);

        List<string> events = [.. Events];
        var grants = events.Select((e, i) => (e, i)).Where(x => x.e.StartsWith("grant ", StringComparison.Ordinal)).ToList();
        // Every seed was granted devices. A seed that asks again before its grant arrives gets the same devices once
        // more (the lost-grant path; seen once in CI): that makes more grants than seeds, each already written.
        Assert.Equal(4, grants.Where(g => g.e.Contains(id, StringComparison.Ordinal)).Select(g => g.e).Distinct().Count());
        foreach ((string grant, int index) in grants)
        {
            string run = grant["grant ".Length..];
            bool written = events.Take(index).Any(e => e.StartsWith("write ", StringComparison.Ordinal) && e.Split(' ').Contains(run));
            Assert.True(written, $"'{grant}' was sent before any inventory write holding it (events: {string.Join(" | ", events.Take(index + 1).TakeLast(4))})");
        }
    }

    /// <summary>The silo's storage, recording each inventory write with the runs that hold devices in it.</summary>
    private sealed class RecordingStorage(IGrainStorage inner) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await inner.WriteStateAsync(stateName, grainId, grainState);
            if (grainState.State is InventoryState inventory)
                Events.Enqueue("write " + string.Join(' ', inventory.Devices.Select(d => d.RunKey).OfType<string>().Distinct()));
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<IShardJobRunner, FakeShardJobRunner>();
            siloBuilder.AddMemoryGrainStorage("inner");
            siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Default,
                (sp, _) => new RecordingStorage(sp.GetRequiredKeyedService<IGrainStorage>("inner")));
            siloBuilder.AddOutgoingGrainCallFilter(context =>
            {
                if (context.InterfaceMethod.Name == nameof(ISeedRunGrain.OnDevicesGrantedAsync))
                    Events.Enqueue($"grant {context.TargetId.Key}");
                return context.Invoke();
            });
            siloBuilder.AddFlatLoraGrains(o =>
            {
                o.CpuSlots = 2;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
                o.MembershipCheckInterval = TimeSpan.FromMilliseconds(500);
                o.QueueRequestInterval = TimeSpan.FromSeconds(1);
                o.ReconcileInterval = TimeSpan.FromSeconds(2);
                o.TorchThreads = 1;
            });
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.Services.AddSerializer(s => s.AddFlatLoraSerialization());
    }
}
