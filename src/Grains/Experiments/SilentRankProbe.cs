using FlatLora.Abstractions.Cluster;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// Decides which silent ranks' devices to keep out of the next grant. Silence alone does not say a device is bad: the
/// rank may have ended and its outcome been lost with the seed run's previous silo. So each shard is asked, all at
/// once (a dead silo costs one probe timeout, not one per rank): a device that answers and is not stuck in this run
/// is healthy; one that does not answer, or still runs this run without heartbeats, is lost.
/// </summary>
internal sealed partial class SilentRankProbe(IGrainFactory grains, string runKey, ILogger logger)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    public async Task<IReadOnlyList<DeviceInfo>> LostAsync(IReadOnlyList<DeviceInfo> suspects, TimeSpan heartbeatTimeout)
    {
        bool[] verdicts = await Task.WhenAll(suspects.Select(d => IsLostAsync(d, heartbeatTimeout)));
        return suspects.Where((_, i) => verdicts[i]).ToList();
    }

    private async Task<bool> IsLostAsync(DeviceInfo device, TimeSpan heartbeatTimeout)
    {
        try
        {
            ShardStatus status = await grains.GetGrain<IShardGrain>(device.ShardKey).GetStatusAsync()
                .WaitAsync(TimeSpan.FromTicks(Math.Min(heartbeatTimeout.Ticks, ProbeTimeout.Ticks)));
            return status.RunKey == runKey && (status.LastHeartbeatUtc is not DateTime beat || DateTime.UtcNow - beat > heartbeatTimeout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogProbeFailed(logger, runKey, device.ShardKey, e.Message);
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: silent shard {Shard} did not answer a status probe: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string key, string shard, string error);
}
