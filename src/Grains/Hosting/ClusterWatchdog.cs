using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Hosting;

/// <summary>
/// Registers this silo's devices with the inventory once the silo is up, then regularly tells the inventory which
/// silos are alive, so devices of a dead silo are marked down and their runs resume elsewhere.
/// </summary>
public sealed partial class ClusterWatchdog(
    IGrainFactory grains,
    DeviceWorkerPool pool,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    StorageHealth storage,
    IOptions<FlatLoraClusterOptions> options,
    ILogger<ClusterWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IClusterInventoryGrain inventory = grains.GetGrain<IClusterInventoryGrain>(0);
        bool registered = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!registered)
                {
                    await inventory.RegisterSiloAsync(silo.Name, pool.Devices, options.Value.GradientEndpoint);
                    registered = true;
                    // Activates the registry, so the experiments-by-state gauge is exported from the start.
                    await grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync();
                    LogRegistered(logger, silo.Name, string.Join(", ", pool.Devices));
                }
                var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.Name).ToList();
                (StorageStatus status, string detail) = storage.Assess(DateTime.UtcNow);
                var report = new SiloHealthReport(silo.Name, status.ToString().ToLowerInvariant(), detail, DateTime.UtcNow);
                if (!await inventory.CheckMembershipAsync(active, report))
                {
                    // The inventory forgot this silo (its stored state was lost): offer the devices again, with their runs.
                    LogRestoring(logger, silo.Name);
                    await inventory.RestoreSiloAsync(silo.Name, pool.Devices, options.Value.GradientEndpoint,
                        pool.Devices.Select(d => pool.Get(d).Current?.RunKey).ToList());
                }
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
            {
                // The silo may not be serving grain calls yet, or the inventory is moving between silos: try again.
                LogRetry(logger, e.Message);
            }
            try
            {
                await Task.Delay(registered ? options.Value.MembershipCheckInterval : TimeSpan.FromMilliseconds(500), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} offers devices: {Devices}")]
    private static partial void LogRegistered(ILogger logger, string silo, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo}: the inventory does not know this silo's devices; offering them again")]
    private static partial void LogRestoring(ILogger logger, string silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster watchdog will retry: {Error}")]
    private static partial void LogRetry(ILogger logger, string error);
}
