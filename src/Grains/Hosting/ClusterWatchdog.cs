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
    private readonly Dictionary<string, (string Run, DateTime Since)> _idleSince = new(StringComparer.Ordinal);

    // A granted device normally starts its job within milliseconds; four membership checks is long enough to be sure.
    private TimeSpan StrandedAfter => options.Value.MembershipCheckInterval * 4;

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
                var report = new SiloHealthReport(silo.Name, status.ToString().ToLowerInvariant(), detail, DateTime.UtcNow, options.Value.SecurityWarnings);
                SiloDevices held = await inventory.CheckMembershipAsync(active, report);
                if (!held.Known)
                {
                    // The inventory forgot this silo (its stored state was lost): offer the devices again, with their runs.
                    LogRestoring(logger, silo.Name);
                    await inventory.RestoreSiloAsync(silo.Name, pool.Devices, options.Value.GradientEndpoint,
                        pool.Devices.Select(d => pool.Get(d).Current?.RunKey).ToList());
                }
                WakeStrandedRuns(held);
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

    /// <summary>
    /// A device the inventory has granted that has run nothing here for a while: the grant was lost (its run's
    /// silo died as it was sent) or the run ended without its release getting through. The run is woken to sort it out.
    /// </summary>
    private void WakeStrandedRuns(SiloDevices held)
    {
        DateTime now = DateTime.UtcNow;
        foreach (string device in pool.Devices)
        {
            if (!held.BusyWith.TryGetValue(device, out string? run) || pool.Get(device).Current?.RunKey == run)
            {
                _idleSince.Remove(device);
                continue;
            }
            if (!_idleSince.TryGetValue(device, out (string Run, DateTime Since) idle) || idle.Run != run)
                _idleSince[device] = (run, now);
            else if (now - idle.Since > StrandedAfter)
            {
                LogWaking(logger, silo.Name, device, run);
                _ = grains.GetGrain<ISeedRunGrain>(run).WakeAsync();
                _idleSince[device] = (run, now);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo}: {Device} is granted to {Run} but has run nothing for it; waking the run")]
    private static partial void LogWaking(ILogger logger, string silo, string device, string run);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo}: the inventory does not know this silo's devices; offering them again")]
    private static partial void LogRestoring(ILogger logger, string silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster watchdog will retry: {Error}")]
    private static partial void LogRetry(ILogger logger, string error);
}
