using FlatLora.Abstractions;
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

/// <summary>Grain state in a real Redis survives a restart of every silo, and a run in flight resumes afterwards.</summary>
public sealed class SiloRestartTests : IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly string _serviceId = $"restart-{Guid.NewGuid():N}";

    private async Task<TestCluster> StartClusterAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.Options.ServiceId = _serviceId;   // storage keys include it: the second cluster must match the first
        builder.Properties["Redis"] = _redis.ConnectionString;
        builder.AddSiloBuilderConfigurator<RedisSiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        TestCluster cluster = builder.Build();
        await cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(cluster.Client, 2);
        return cluster;
    }

    [Fact]
    public async Task Persisted_state_survives_a_full_restart_and_a_run_in_flight_resumes()
    {
        // Values equal to the CLR default where the spec's default differs (dropout 0 vs 0.05, ...): a storage
        // serializer that skips default values would bring them back as 0.05, 50 and 2.
        var done = new TrainSpec
        {
            Training = new TrainingSpec { MaxSteps = 3 },
            Lora = new LoraSpec { Dropout = 0 },
            Checkpoint = new CheckpointSpec { Interval = 0 },
            Experiment = new ExperimentSection { Seeds = [1, 2], MaxRetries = 0 },
        };
        var slow = new TrainSpec { Training = new TrainingSpec { MaxSteps = 200 }, Experiment = new ExperimentSection { Seeds = [5] } };
        string finished = ClusterWaits.NewId("kept"), inFlight = ClusterWaits.NewId("flight");

        TestCluster first = await StartClusterAsync();
        await first.Client.GetGrain<IExperimentGrain>(finished).SubmitAsync(new ExperimentRequest { Spec = done });
        ExperimentStatus before = await ClusterWaits.FinalAsync(first.Client, finished);
        await first.Client.GetGrain<IExperimentGrain>(inFlight).SubmitAsync(new ExperimentRequest { Spec = slow });
        await ClusterWaits.ExperimentAsync(first.Client, inFlight, s => s.Seeds[0].Step > 5, "to be in flight");
        await first.StopAllSilosAsync();
        await first.DisposeAsync();

        TestCluster second = await StartClusterAsync();
        try
        {
            ExperimentStatus after = await second.Client.GetGrain<IExperimentGrain>(finished).GetStatusAsync();
            Assert.Equal(RunState.Completed, after.State);
            Assert.Equal(before.Seeds.Select(s => s.Metrics!.EvalExactMatch), after.Seeds.Select(s => s.Metrics!.EvalExactMatch));
            Assert.Contains(finished, (await second.Client.GetGrain<IExperimentRegistryGrain>(0).ListAsync()).Select(e => e.Id));
            TrainSpec stored = await second.Client.GetGrain<IExperimentGrain>(finished).GetSpecAsync();
            Assert.Equal(SpecJson.Serialize(done), SpecJson.Serialize(stored));

            // The silo that ran it registered again: the inventory tells the run, which resumes on a new attempt.
            ExperimentStatus resumed = await ClusterWaits.FinalAsync(second.Client, inFlight);
            Assert.Equal(RunState.Completed, resumed.State);
            // Resumed at least once; a graceful shutdown may also hand it to the second, still stopping, silo first.
            Assert.InRange(resumed.Seeds[0].Attempt, 2, 1 + slow.Experiment.MaxRetries);
        }
        finally
        {
            await second.StopAllSilosAsync();
            await second.DisposeAsync();
        }
    }

    public void Dispose() => _redis.Dispose();

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
