using System.Net;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// One in-process silo of the cluster benchmark: simulated devices, the shared store, localhost clustering through the
/// primary silo, and membership timings short enough that a killed silo is noticed in seconds. A kill first makes the
/// silo deaf and mute (every call to it fails, its devices report nothing, its jobs stop), as a process that died is,
/// then stops its host without a graceful shutdown; a restart comes back under the same name.
/// </summary>
internal sealed class BenchSilo(string name, ClusterBenchmarkOptions options, SharedRecords records, BenchLedger ledger, IPEndPoint? primary) : IDisposable
{
    private IHost? _host;
    private CancellationTokenSource? _life;

    public string Name { get; } = name;
    public IPEndPoint SiloEndpoint { get; private set; } = new(IPAddress.Loopback, 0);
    public bool Running => _host is not null;
    public IClusterClient Client => _host!.Services.GetRequiredService<IClusterClient>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _life = new CancellationTokenSource();
        int[] ports = LoopbackPorts.Take(2);
        SiloEndpoint = new IPEndPoint(IPAddress.Loopback, ports[0]);
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (options.SiloLogs)
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Warning).AddFilter("Orleans", LogLevel.Error);
        var runner = new SimulatedShardJobRunner(ledger, Name, options, _life.Token);
        builder.UseOrleans(silo =>
        {
            silo.Configure<SiloOptions>(o => o.SiloName = Name);
            silo.UseLocalhostClustering(SiloEndpoint.Port, ports[1], primary, serviceId: "bench", clusterId: "bench");
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            });
            foreach (string storage in new[] { StorageNames.Default, ProgressStreams.PubSubStorage })
                silo.Services.AddKeyedSingleton<IGrainStorage>(storage, (sp, _) => new SharedGrainStorage(records, sp.GetRequiredService<Serializer>()));
            silo.Services.AddSingleton<IShardJobRunner>(runner);
            if (options.Projects > 0)
            {
                silo.Services.Configure<SchedulingSettings>(s =>
                {
                    s.PreemptAfter = options.PreemptAfter;
                    foreach (string project in ProjectsScenario.Names.Take(options.Projects))
                        s.Projects[project] = new ProjectQuota { Weight = 1, MaxPriority = "high" };
                });
            }
            // Killed: the silo answers nothing (a call fails as one to a dead process does) and reports nothing.
            CancellationToken killed = _life.Token;
            silo.AddIncomingGrainCallFilter(context =>
            {
                if (killed.IsCancellationRequested)
                    throw new SiloUnavailableException($"{Name} was killed");
                if (context.InterfaceMethod.Name == nameof(IClusterInventoryGrain.ReleaseAsync) && context.Request.GetArgument(0) is string runKey)
                    ledger.Released(runKey);
                if (context.InterfaceMethod.Name == nameof(IClusterInventoryGrain.RequestDevicesAsync) && context.Request.GetArgument(0) is Abstractions.Scheduling.DeviceAsk queuedRun)
                    ledger.Queued(queuedRun.RunKey);
                if (context.InterfaceMethod.Name == nameof(IClusterInventoryGrain.DeviceFreedAsync) && context.Request.GetArgument(0) is string shardKey)
                    ledger.DeviceFreed(shardKey);
                return context.Grain is IClusterInventoryGrain ? TimedAsync(context) : context.Invoke();
            });
            silo.Services.AddSingleton<IShardReporter>(sp => new SilencedWhenKilled(sp.GetRequiredService<GrainShardReporter>(), ledger, killed));
            silo.AddOutgoingGrainCallFilter(context =>
            {
                if (context.InterfaceMethod.Name == nameof(IClusterInventoryGrain.DeviceFreedAsync) && context.Request.GetArgument(0) is string freed)
                    ledger.DeviceFreeSent(freed);
                if (context.InterfaceMethod.Name == nameof(ISeedRunGrain.OnDevicesGrantedAsync) && context.Request.GetArgument(0) is IReadOnlyList<DeviceInfo> devices)
                {
                    foreach (DeviceInfo device in devices)
                        ledger.Granted(device.ShardKey);
                }
                return context.Invoke();
            });
            silo.AddFlatLoraGrains(o =>
            {
                o.Devices = Enumerable.Range(0, options.DevicesPerSilo).Select(i => $"cpu:{i}").ToArray();
                o.TorchThreads = 1;
                o.HeartbeatInterval = TimeSpan.FromSeconds(1);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(10);
                o.MembershipCheckInterval = TimeSpan.FromMilliseconds(500);
                o.QueueRequestInterval = TimeSpan.FromSeconds(30);
                o.ReconcileInterval = TimeSpan.FromSeconds(3);
                o.LostDeviceQuarantine = TimeSpan.FromSeconds(5);
            });
        });
        _host = builder.Build();
        await _host.StartAsync(cancellationToken);
    }

    // The inventory is the one grain every placement passes through: how long its turns take, by method, says where its time goes.
    private async Task TimedAsync(IIncomingGrainCallContext context)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        await context.Invoke();
        ledger.InventoryTurn(context.InterfaceMethod.Name, System.Diagnostics.Stopwatch.GetElapsedTime(start));
    }

    /// <summary>Stops the silo without a graceful shutdown: no grain hands over, no job checkpoints or reports.</summary>
    public async Task KillAsync()
    {
        IHost host = _host ?? throw new InvalidOperationException($"{Name} is not running");
        _host = null;
        ledger.Forget(Name);
        await _life!.CancelAsync();
        using var abrupt = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        try
        {
            await host.StopAsync(abrupt.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Expected: the stop was not given time to be graceful.
        }
        host.Dispose();
        _life.Dispose();
    }

    public async Task StopAsync()
    {
        if (_host is null)
            return;
        await _life!.CancelAsync();
        await _host.StopAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
        _host = null;
        _life.Dispose();
        _life = null;
    }

    public void Dispose()
    {
        _host?.Dispose();
        _life?.Dispose();
    }
}

/// <summary>The silo's reporter, silent once the silo was killed: a dead process sends no heartbeats or outcomes.</summary>
internal sealed class SilencedWhenKilled(IShardReporter inner, BenchLedger ledger, CancellationToken killed) : IShardReporter
{
    public void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint)
    {
        if (!killed.IsCancellationRequested)
            inner.Progress(job, progress, lastCheckpoint);
    }

    public void Heartbeat(ShardJob job)
    {
        if (!killed.IsCancellationRequested)
            inner.Heartbeat(job);
    }

    public void Finished(ShardJob job, ShardOutcome outcome)
    {
        if (killed.IsCancellationRequested)
            return;
        if (outcome.Result == ShardResult.Completed)
            ledger.ReportedCompleted(job.RunKey);
        inner.Finished(job, outcome);
    }
}
