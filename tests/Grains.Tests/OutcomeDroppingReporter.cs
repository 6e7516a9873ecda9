using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;

namespace FlatLora.Grains.Tests;

/// <summary>
/// The silo's reporter, except that first-attempt outcomes of "lost-outcome" runs never arrive: what happens when the
/// seed run's silo dies just as its ranks end, so the ranks fall silent with nothing to say why.
/// </summary>
public sealed class OutcomeDroppingReporter(GrainShardReporter inner) : IShardReporter
{
    public void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint) => inner.Progress(job, progress, lastCheckpoint);

    public void Heartbeat(ShardJob job) => inner.Heartbeat(job);

    public void Finished(ShardJob job, ShardOutcome outcome)
    {
        if (job.Spec.Experiment.Name == "lost-outcome" && job.Attempt == 1)
            return;
        inner.Finished(job, outcome);
    }
}
