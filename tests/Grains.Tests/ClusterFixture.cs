using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.TestingHost;

namespace FlatLora.Grains.Tests;

/// <summary>Two in-process silos with one CPU slot each, memory storage and the fake runner; shared by the grain tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        await ClusterWaits.DevicesAsync(Grains, 2);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<IShardJobRunner, FakeShardJobRunner>();
            siloBuilder.Services.AddSingleton<IShardReporter>(sp => new OutcomeDroppingReporter(sp.GetRequiredService<GrainShardReporter>()));
            siloBuilder.AddMemoryGrainStorage(StorageNames.Default);
            siloBuilder.AddIncomingGrainCallFilter(FailFirstStart);
            siloBuilder.AddIncomingGrainCallFilter(CountSeedStarts);
            siloBuilder.AddFlatLoraGrains(o =>
            {
                o.CpuSlots = 1;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(3);
                o.MembershipCheckInterval = TimeSpan.FromMilliseconds(500);
                o.QueueRequestInterval = TimeSpan.FromSeconds(1);
                o.ReconcileInterval = TimeSpan.FromSeconds(2);
                o.TorchThreads = 1;
                // A device a test's run loses (a rank that falls silent on a busy CI machine) is back in seconds, not
                // the default 2 min: the tests after it in this shared cluster need both devices.
                o.LostDeviceQuarantine = TimeSpan.FromSeconds(5);
            });
        }
    }

    /// <summary>Seeds of experiments named "start-fails-once" refuse their first start (a silo dying mid-submit, say).</summary>
    private static Task FailFirstStart(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod.Name == nameof(ISeedRunGrain.StartAsync) && context.Request.GetArgument(0) is SeedRunPlan plan
            && plan.Spec.Experiment.Name == "start-fails-once" && FailedStarts.TryAdd(plan.RunKey, 0))
            throw new InvalidOperationException($"start of {plan.RunKey} refused (scripted)");
        return context.Invoke();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> FailedStarts = new();

    private static int _seedStartsInFlight, _mostSeedStartsInFlight;

    /// <summary>The most seed-run starts that were executing at once, cluster-wide, since <see cref="ResetSeedStartCount"/>.</summary>
    public static int MostSeedStartsInFlight => Volatile.Read(ref _mostSeedStartsInFlight);

    public static void ResetSeedStartCount() => Interlocked.Exchange(ref _mostSeedStartsInFlight, Volatile.Read(ref _seedStartsInFlight));

    private static async Task CountSeedStarts(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod.Name != nameof(ISeedRunGrain.StartAsync))
        {
            await context.Invoke();
            return;
        }
        int now = Interlocked.Increment(ref _seedStartsInFlight);
        for (int most = Volatile.Read(ref _mostSeedStartsInFlight); now > most; most = Volatile.Read(ref _mostSeedStartsInFlight))
            Interlocked.CompareExchange(ref _mostSeedStartsInFlight, now, most);
        try
        {
            await context.Invoke();
        }
        finally
        {
            Interlocked.Decrement(ref _seedStartsInFlight);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder)
        {
            clientBuilder.Services.AddSerializer(s => s.AddFlatLoraSerialization());
            clientBuilder.AddMemoryStreams(ProgressStreams.Provider);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterTests : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
