using FlatLora.Abstractions;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using FlatLora.Tests.Shared;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.TestingHost;
using StackExchange.Redis;

namespace FlatLora.Grains.Tests;

/// <summary>
/// Redis restarted without persistence: every stored record is gone while the grains are active. Runs must still
/// finish, the next submit must work, and the silos must say that state was lost and restored from memory.
/// </summary>
public sealed class LostStateTests : IAsyncLifetime, IDisposable
{
    private readonly RedisServer _redis = new();
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.Options.ServiceId = $"lost-{Guid.NewGuid():N}";
        builder.Properties["Redis"] = _redis.ConnectionString;
        builder.AddSiloBuilderConfigurator<RedisSiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(_cluster.Client, 2);
    }

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    public void Dispose() => _redis.Dispose();   // after the silos: Orleans' Redis clients hang if Redis goes first

    private static TrainSpec Spec(int steps) => new()
    {
        Training = new TrainingSpec { MaxSteps = steps },
        Experiment = new ExperimentSection { Seeds = [1] },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    [Fact]
    public async Task When_storage_loses_every_record_mid_run_the_run_finishes_and_the_next_submit_works()
    {
        IGrainFactory grains = _cluster.Client;
        string running = ClusterWaits.NewId("flushed");
        await grains.GetGrain<IExperimentGrain>(running).SubmitAsync(new ExperimentRequest { Spec = Spec(steps: 150) });
        await ClusterWaits.ExperimentAsync(grains, running, s => s.Seeds[0].Step > 5, "to be in flight");

        await using (ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync($"{_redis.ConnectionString},allowAdmin=true"))
            await redis.GetServer(_redis.ConnectionString).FlushAllDatabasesAsync();

        ExperimentStatus finished = await ClusterWaits.UntilAsync(() => grains.GetGrain<IExperimentGrain>(running).GetStatusAsync(),
            s => s.State.IsFinal(), "the run to finish after storage lost its records", TimeSpan.FromSeconds(60));
        Assert.Equal(RunState.Completed, finished.State);

        string next = ClusterWaits.NewId("after");
        await grains.GetGrain<IExperimentGrain>(next).SubmitAsync(new ExperimentRequest { Spec = Spec(steps: 3) });
        Assert.Equal(RunState.Completed, (await ClusterWaits.FinalAsync(grains, next)).State);
        IReadOnlyList<RegistryEntry> listed = await grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync();
        Assert.Contains(running, listed.Select(e => e.Id));
        Assert.Contains(next, listed.Select(e => e.Id));

        // The silos say what happened (`flatlora cluster` and /health show it), rather than staying "healthy".
        ClusterSnapshot snapshot = await ClusterWaits.UntilAsync(() => grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(),
            s => s.Health.Any(h => h.Status == "degraded"), "a silo to report degraded storage");
        Assert.Contains(snapshot.Health, h => h.Status == "degraded" && h.Detail.Contains("vanished", StringComparison.Ordinal));
        // And the inventory, whose own record vanished too, still knows every device.
        Assert.Equal(2, snapshot.Devices.Count);
    }

    private sealed class RedisSiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            string redis = siloBuilder.Configuration["Redis"]!;
            siloBuilder.Services.AddSingleton<IShardJobRunner, FakeShardJobRunner>();
            siloBuilder.AddRedisGrainStorage(StorageNames.Default, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            siloBuilder.AddFlatLoraGrains(o =>
            {
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(3);
                o.MembershipCheckInterval = TimeSpan.FromMilliseconds(500);
                o.QueueRequestInterval = TimeSpan.FromSeconds(1);
                o.ReconcileInterval = TimeSpan.FromSeconds(2);
                o.TorchThreads = 1;
            });
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.Services.AddSerializer(s => s.AddFlatLoraSerialization());
    }
}
