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
    private ShardKey Key => ShardKey.Parse(this.GetPrimaryKeyString());

    /// <summary>Returns at once: a retry whose previous attempt is still stopping waits on the device thread, not in this turn.</summary>
    public Task StartAsync(ShardJob job)
    {
        if (!pool.Get(Key.Device).TryStart(job, out string? busyWith))
            throw new InvalidOperationException($"device {Key} is busy with {busyWith}");
        LogStarted(logger, Key.ToString(), job.RunKey, job.Rank, job.Attempt);
        return Task.CompletedTask;
    }

    public Task CancelAsync(string runKey)
    {
        pool.Get(Key.Device).Cancel(runKey);
        return Task.CompletedTask;
    }

    public Task<ShardStatus> GetStatusAsync()
    {
        DeviceWorker worker = pool.Get(Key.Device);
        ShardJob? job = worker.Current;
        return Task.FromResult(new ShardStatus(Key.Silo, Key.Device, job?.RunKey, job?.Rank ?? -1, worker.LastHeartbeatUtc, silo.Name));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: started {RunKey} rank {Rank} attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, string shard, string runKey, int rank, int attempt);
}
