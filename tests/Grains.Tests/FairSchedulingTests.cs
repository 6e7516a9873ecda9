using FlatLora.Abstractions;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.TestingHost;

namespace FlatLora.Grains.Tests;

/// <summary>
/// Two projects on one silo with 2 slots, as in the issue: project a floods it with a 12-seed experiment, then project
/// b submits one run. Before fair scheduling b waited until all of a's runs had drained (239 s measured with real
/// runs; here about 12 × 6 s / 2 = 36 s). Now b's run starts within PreemptAfter plus a checkpoint, and a's preempted
/// run goes back to the queue, at its place, and still completes.
/// </summary>
public sealed class FairSchedulingTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;
    private IGrainFactory Grains => _cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(Grains, 2);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static TrainSpec Spec(int seeds, int steps, string name = "fair") => new()
    {
        Training = new TrainingSpec { MaxSteps = steps },   // the fake runner: 20 ms a step
        Experiment = new ExperimentSection { Name = name, Seeds = [.. Enumerable.Range(1, seeds).Select(s => (long)s)] },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    [Fact]
    public async Task Another_projects_run_starts_within_preempt_after_and_the_preempted_run_still_completes()
    {
        string flood = ClusterWaits.NewId("flood"), small = ClusterWaits.NewId("small");
        await Grains.GetGrain<IExperimentGrain>(flood).SubmitAsync(new ExperimentRequest { Spec = Spec(12, 300), Owner = new RunOwner("alice", "a") });
        await ClusterWaits.ExperimentAsync(Grains, flood, s => s.Seeds.Count(x => x.State == RunState.Running) == 2, "to run on both slots");

        DateTime submitted = DateTime.UtcNow;
        await Grains.GetGrain<IExperimentGrain>(small).SubmitAsync(new ExperimentRequest { Spec = Spec(1, 50), Owner = new RunOwner("bob", "b") });
        await ClusterWaits.ExperimentAsync(Grains, small, s => s.Seeds.Any(x => x.State is RunState.Running || x.State.IsFinal()),
            "b's run to start while a's backlog waits", TimeSpan.FromSeconds(15));
        TimeSpan waited = DateTime.UtcNow - submitted;
        // PreemptAfter is 1 s here; the fake runner stops within a step of 20 ms.
        Assert.True(waited < TimeSpan.FromSeconds(8), $"b waited {waited.TotalSeconds:0.0} s");

        ExperimentStatus a = await Grains.GetGrain<IExperimentGrain>(flood).GetStatusAsync();
        Assert.True(a.Seeds.Count(s => !s.State.IsFinal()) >= 8, "b did not wait for a's backlog to drain");
        SeedRunStatus preempted = await ClusterWaits.UntilAsync(
            async () => (await Grains.GetGrain<IExperimentGrain>(flood).GetStatusAsync()).Seeds.OrderByDescending(s => s.Preemptions).First(),
            s => s.Preemptions >= 1, "one of a's runs to have been preempted");

        Assert.Equal(RunState.Completed, (await ClusterWaits.FinalAsync(Grains, small)).State);
        ExperimentStatus done = await ClusterWaits.UntilAsync(() => Grains.GetGrain<IExperimentGrain>(flood).GetStatusAsync(), s => s.State.IsFinal(),
            "a's experiment to end", TimeSpan.FromMinutes(2));
        Assert.Equal(RunState.Completed, done.State);
        SeedRunStatus resumed = done.Seeds.Single(s => s.Seed == preempted.Seed);
        Assert.Equal(RunState.Completed, resumed.State);
        Assert.True(resumed.Preemptions >= 1);
    }

    [Fact]
    public async Task The_queue_says_who_waits_and_why()
    {
        string hog = ClusterWaits.NewId("hog"), waiting = ClusterWaits.NewId("wait");
        await Grains.GetGrain<IExperimentGrain>(hog).SubmitAsync(new ExperimentRequest { Spec = Spec(2, 1, "hang") with { Experiment = new ExperimentSection { Name = "hang", Seeds = [1, 2], Preemptible = false } }, Owner = new RunOwner("carol", "c") });
        await ClusterWaits.ExperimentAsync(Grains, hog, s => s.Seeds.All(x => x.State == RunState.Running), "to hold both slots");
        await Grains.GetGrain<IExperimentGrain>(waiting).SubmitAsync(new ExperimentRequest { Spec = Spec(1, 5), Owner = new RunOwner("dave", "d") });
        ClusterSnapshot snapshot = await ClusterWaits.UntilAsync(() => Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(),
            s => s.Waiting.Any(q => q.Ask.RunKey == $"{waiting}/1" && q.Why.Contains("can be preempted", StringComparison.Ordinal)), "the queue to explain the wait");
        QueuedRun queued = snapshot.Waiting.Single(q => q.Ask.RunKey == $"{waiting}/1");
        Assert.Equal(("dave", "d", PriorityClass.Normal), (queued.Ask.User, queued.Ask.Project, queued.Ask.Priority));
        Assert.Equal(2, snapshot.Projects.Single(p => p.Project == "c").InUse);
        Assert.Equal(2, snapshot.Running.Count(r => r.Ask.Project == "c"));
        await Grains.GetGrain<IExperimentGrain>(hog).CancelAsync();
        Assert.Equal(RunState.Completed, (await ClusterWaits.FinalAsync(Grains, waiting)).State);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<IShardJobRunner, FakeShardJobRunner>();
            siloBuilder.AddMemoryGrainStorage(StorageNames.Default);
            siloBuilder.Services.Configure<SchedulingSettings>(s =>
            {
                s.PreemptAfter = TimeSpan.FromSeconds(1);
                s.Projects["a"] = new ProjectQuota();
                s.Projects["b"] = new ProjectQuota();
                s.Projects["c"] = new ProjectQuota { Guaranteed = 2 };   // its opt-out runs are safe within it
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
