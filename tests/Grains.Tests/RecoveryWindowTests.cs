using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Benchmarks.Cluster;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace FlatLora.Grains.Tests;

/// <summary>
/// Storage lost every record, and the grains' recovery reads are slow (a loaded machine, a distant Redis): while an
/// experiment re-reads its vanished record to write its own copy back, a status query must still see that copy, not
/// "no experiment" or an empty state.
/// </summary>
public sealed class RecoveryWindowTests : IAsyncLifetime
{
    private static readonly SharedRecords Records = new();
    private static volatile bool _slowWrites;
    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Log = new();   // records found missing
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(_cluster.Client, 1);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_status_query_during_a_slow_recovery_write_sees_the_active_copy()
    {
        IGrainFactory grains = _cluster.Client;
        string id = ClusterWaits.NewId("window");
        IExperimentGrain experiment = grains.GetGrain<IExperimentGrain>(id);
        await experiment.SubmitAsync(new ExperimentRequest { Spec = new TrainSpec
        {
            Training = new TrainingSpec { MaxSteps = 40 },
            Experiment = new ExperimentSection { Seeds = [1] },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
        } });
        await ClusterWaits.ExperimentAsync(grains, id, s => s.Seeds[0].Step > 5, "to be in flight");

        Records.Records.Clear();   // storage restarted empty
        _slowWrites = true;
        // Poll through the end of the run and 4 s beyond: the experiment's own recovery write (its record vanished, it
        // re-reads, then writes its copy back in 1.5 s) comes as its seed ends.
        var seen = new List<string>();
        ExperimentStatus? last = null;
        DateTime? finishedAt = null;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && (finishedAt is null || DateTime.UtcNow - finishedAt < TimeSpan.FromSeconds(4)))
        {
            try
            {
                last = await experiment.GetStatusAsync();
                if (last.Seeds.Count != 1 || last.Id != id)
                    seen.Add($"{last.Seeds.Count} seed(s), id {last.Id}");
                if (last.State.IsFinal())
                    finishedAt ??= DateTime.UtcNow;
            }
            catch (KeyNotFoundException e)
            {
                seen.Add(e.Message);
            }
            await Task.Delay(20);
        }

        Assert.Empty(seen);
        Assert.Equal(RunState.Completed, last?.State);
        Assert.True(Log.Contains("vanished experiment"), string.Join(", ", Log));   // the window was there to be hit
    }

    /// <summary>
    /// The shared in-memory store, read as Redis storage reads (a missing record leaves a fresh, empty state), whose
    /// writes take 1.5 s once <see cref="_slowWrites"/> is set.
    /// </summary>
    private sealed class SlowRecoveryStorage(Serializer serializer) : IGrainStorage
    {
        private readonly SharedGrainStorage _inner = new(Records, serializer);

        public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await _inner.ReadStateAsync(stateName, grainId, grainState);
            if (!grainState.RecordExists)
            {
                grainState.State = Activator.CreateInstance<T>();
                if (_slowWrites)
                    Log.Enqueue($"vanished {stateName}");
            }
        }

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (_slowWrites)
                await Task.Delay(1500);
            await _inner.WriteStateAsync(stateName, grainId, grainState);
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => _inner.ClearStateAsync(stateName, grainId, grainState);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<IShardJobRunner, FakeShardJobRunner>();
            siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Default, (sp, _) => new SlowRecoveryStorage(sp.GetRequiredService<Serializer>()));
            siloBuilder.AddFlatLoraGrains(o =>
            {
                o.CpuSlots = 1;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(10);
                o.MembershipCheckInterval = TimeSpan.FromMilliseconds(500);
                o.QueueRequestInterval = TimeSpan.FromSeconds(1);
                o.ReconcileInterval = TimeSpan.FromSeconds(2);
                o.TorchThreads = 1;
            });
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
        {
            clientBuilder.Services.AddSerializer(s => s.AddFlatLoraSerialization());
            clientBuilder.AddMemoryStreams(ProgressStreams.Provider);
        }
    }
}
