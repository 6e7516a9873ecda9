using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Execution;

/// <summary>Runs one shard job to its end on the calling (device) thread and says how it ended.</summary>
public interface IShardJobRunner
{
    ShardOutcome Run(ShardJob job, string device, IShardReporter reporter, CancellationToken cancellationToken);
}
