using FlatLora.Abstractions.Cluster;
using FlatLora.Grains.Execution;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// One device of the silo it is placed on (key "{silo}/{device}"). Posts jobs to the device's trainer thread and
/// returns; the thread reports to the seed run directly. The grain holds no state of its own: the worker does.
/// </summary>
[SiloBoundPlacement]
public sealed partial class ShardGrain(DeviceWorkerPool pool, ILocalSiloDetails silo, ILogger<ShardGrain> logger) : Grain, IShardGrain
{
    private static readonly TimeSpan PreviousAttemptGrace = TimeSpan.FromSeconds(30);

    private string Key => this.GetPrimaryKeyString();
    private string Device => Key[(Key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public async Task StartAsync(ShardJob job)
    {
        DeviceWorker worker = pool.Get(Device);
        // A retry can arrive while the previous attempt of the same run is still stopping: give it time to finish.
        if (worker.Current is { } running && running.RunKey == job.RunKey && running.Attempt < job.Attempt)
        {
            worker.Cancel(job.RunKey);
            DateTime deadline = DateTime.UtcNow + PreviousAttemptGrace;
            while (worker.Current is { } still && still.RunKey == job.RunKey && still.Attempt < job.Attempt && DateTime.UtcNow < deadline)
                await Task.Delay(100);
        }
        if (!worker.TryStart(job, out string? busyWith))
            throw new InvalidOperationException($"device {Key} is busy with {busyWith}");
        LogStarted(logger, Key, job.RunKey, job.Rank, job.Attempt);
    }

    public Task CancelAsync(string runKey)
    {
        pool.Get(Device).Cancel(runKey);
        return Task.CompletedTask;
    }

    public Task<ShardStatus> GetStatusAsync()
    {
        DeviceWorker worker = pool.Get(Device);
        ShardJob? job = worker.Current;
        return Task.FromResult(new ShardStatus(Key[..Key.IndexOf('/', StringComparison.Ordinal)], Device, job?.RunKey, job?.Rank ?? -1,
            worker.LastHeartbeatUtc, silo.Name));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: started {RunKey} rank {Rank} attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, string shard, string runKey, int rank, int attempt);
}
