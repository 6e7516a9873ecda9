using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Determinism;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// A device that trains nothing: it holds the device for a seeded random time (a function of the trial and attempt),
/// reports its steps, and completes. When its silo is killed the job stops at once; the silo's reporter then says
/// nothing (see <see cref="BenchSilo"/>), like a process that died.
///
/// With projects (<see cref="ClusterBenchmarkOptions.Projects"/>) a job also checkpoints, into the ledger, which
/// stands in for the disk: every <see cref="ClusterBenchmarkOptions.CheckpointEvery"/> steps, and, when it is cancelled
/// (a preemption), its last complete step after <see cref="ClusterBenchmarkOptions.CheckpointTime"/>, as the trainer
/// does. A job resumes from the newest checkpoint of its trial, as a single rank does.
/// </summary>
public sealed class SimulatedShardJobRunner(BenchLedger ledger, string silo, ClusterBenchmarkOptions options, CancellationToken killed)
    : IShardJobRunner
{
    public ShardOutcome Run(ShardJob job, string device, IShardReporter reporter, CancellationToken cancellationToken)
    {
        int steps = options.StepsPerJob;
        bool checkpoints = options.Projects > 0;
        int done = checkpoints ? ledger.Resume(job.RunKey) : 0;
        ledger.Started(job.RunKey);
        try
        {
            var random = new SplitMix64(Seeding.Derive(options.Seed, "bench-job", $"{job.RunKey}#{job.Attempt}"));
            (TimeSpan shortest, TimeSpan longest) = options.JobLength(job.ExperimentId);
            TimeSpan hold = shortest + (longest - shortest) * random.NextDouble();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, killed);
            DateTime lastReport = DateTime.MinValue;
            for (int step = done + 1; step <= steps; step++)
            {
                if (stop.Token.WaitHandle.WaitOne(hold / steps))
                    return Stopped(job, device, step - 1, checkpoints);
                ledger.StepDone(job.RunKey, step);
                string? checkpoint = checkpoints && step % options.CheckpointEvery == 0 ? ledger.Checkpoint(job.RunKey, step) : null;
                // Reported as a real run reports (ShardProgressObserver): when logging is due, a second since the last, or a checkpoint.
                if (checkpoint is null && !StepLogging.IsDue(step - 1, steps, job.Spec.Training.LogEvery) && DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(1))
                    continue;
                lastReport = DateTime.UtcNow;
                reporter.Progress(job, new ProgressEvent
                {
                    ExperimentId = job.ExperimentId,
                    Seed = job.Seed,
                    Rank = job.Rank,
                    Kind = ProgressKind.Step,
                    Step = step,
                    TotalSteps = steps,
                    Figures = new StepFigures { Step = step - 1, TotalSteps = steps, Loss = 1.0 / step },
                    State = RunState.Running,
                }, checkpoint ?? ledger.LastCheckpoint(job.RunKey));
            }
            return Outcome(job, device, ShardResult.Completed) with { Metrics = new RunMetrics { Steps = steps, FinalLoss = 1.0 / steps } };
        }
        finally
        {
            // A job stopped by its silo's death leaves no free device behind: the device is gone until the silo is back.
            ledger.Ended(job.RunKey, $"{silo}/{device}", deviceFree: !killed.IsCancellationRequested);
        }
    }

    /// <summary>
    /// Cancelled (a preemption or a cancel) or killed with its silo. A killed job saves nothing and nobody hears of it;
    /// a cancelled one saves its last complete step, which takes the checkpoint time, and says where.
    /// </summary>
    private ShardOutcome Stopped(ShardJob job, string device, int complete, bool checkpoints)
    {
        if (killed.IsCancellationRequested)
        {
            ledger.Killed(job.RunKey);
            return Outcome(job, device, ShardResult.Cancelled);
        }
        if (!checkpoints || complete == 0)
            return Outcome(job, device, ShardResult.Cancelled) with { LastCheckpoint = checkpoints ? ledger.LastCheckpoint(job.RunKey) : null };
        killed.WaitHandle.WaitOne(options.CheckpointTime);
        if (killed.IsCancellationRequested)
        {
            ledger.Killed(job.RunKey);   // died while saving: the checkpoint never completed
            return Outcome(job, device, ShardResult.Cancelled);
        }
        string checkpoint = ledger.Checkpoint(job.RunKey, complete);
        return Outcome(job, device, ShardResult.Cancelled) with { LastCheckpoint = checkpoint };
    }

    private static ShardOutcome Outcome(ShardJob job, string device, ShardResult result) =>
        new() { Attempt = job.Attempt, Rank = job.Rank, Device = device, Result = result };
}
