using FlatLora.Abstractions.Cluster;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>The shards of one attempt of a seed run: started together, cancelled together.</summary>
internal sealed partial class AttemptShards(IGrainFactory grains, string runKey, ILogger logger)
{
    /// <summary>
    /// Starts every job on its device; returns the first rank that could not be started, why, and whether the call
    /// never reached the device at all (Orleans could not route it: the device is not to blame), or null.
    /// </summary>
    public async Task<(int Rank, string Error, bool Unrouted)?> StartAsync(IReadOnlyList<ShardJob> jobs, IReadOnlyList<DeviceInfo> devices)
    {
        foreach (ShardJob job in jobs)
        {
            try
            {
                await grains.GetGrain<IShardGrain>(devices[job.Rank].ShardKey).StartAsync(job);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return (job.Rank, $"could not start rank {job.Rank} on {devices[job.Rank].ShardKey}: {e.Message}", UnroutedCall.Is(e));
            }
        }
        return null;
    }

    /// <summary>Asks every device to stop this run (at its next micro-batch); a device whose silo is gone has nothing to stop.</summary>
    public async Task CancelAsync(IReadOnlyList<DeviceInfo> devices)
    {
        foreach (DeviceInfo device in devices)
        {
            try
            {
                await grains.GetGrain<IShardGrain>(device.ShardKey).CancelAsync(runKey);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogCancelFailed(logger, runKey, device.ShardKey, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SeedRun {Key}: could not cancel {Shard}: {Error}")]
    private static partial void LogCancelFailed(ILogger logger, string key, string shard, string error);
}
