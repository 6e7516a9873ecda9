using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Execution;

/// <summary>
/// On silo shutdown, while grain calls still work: cancel the running jobs (each checkpoints its last whole step),
/// wait for the device threads, and deliver their last reports, so their seed runs resume elsewhere at once.
/// </summary>
public sealed partial class DeviceWorkerShutdown(DeviceWorkerPool pool, GrainShardReporter reporter, ILogger<DeviceWorkerShutdown> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DeviceWorkerShutdown), ServiceLifecycleStage.Active, _ => Task.CompletedTask, StopAsync);

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        LogStopping(logger, pool.Devices.Count);
        await pool.StopAllAsync(Grace).ConfigureAwait(false);
        await reporter.FlushAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo stopping: cancelling the jobs on {Count} device(s)")]
    private static partial void LogStopping(ILogger logger, int count);
}
