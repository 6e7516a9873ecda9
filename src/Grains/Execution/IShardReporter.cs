using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Execution;

/// <summary>Where a device worker sends what happens to its job. Called from the trainer thread; must not block it.</summary>
public interface IShardReporter
{
    void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint);
    void Heartbeat(ShardJob job);
    void Finished(ShardJob job, ShardOutcome outcome);
}
