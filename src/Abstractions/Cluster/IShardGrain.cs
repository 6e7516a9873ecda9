using Orleans.Concurrency;

namespace FlatLora.Abstractions.Cluster;

/// <summary>
/// One device on one silo (key "{silo}/{device}"), activated on that silo only. Hands jobs to the device's
/// dedicated trainer thread and returns at once; progress and the outcome go to the seed run.
/// </summary>
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Starts the job on the device's trainer thread; fails at once if the device is busy with another run.</summary>
    Task StartAsync(ShardJob job);

    [AlwaysInterleave]
    Task CancelAsync(string runKey);

    [AlwaysInterleave]
    Task<ShardStatus> GetStatusAsync();
}
