using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Determinism;

namespace FlatLora.Grains.Bench;

/// <summary>
/// A device that trains nothing: it holds the device for a seeded random time (a function of the trial and attempt),
/// reports a few steps, and completes. When its silo is killed the job stops at once; the silo's reporter then says
/// nothing (see <see cref="BenchSilo"/>), like a process that died.
/// </summary>
public sealed class SimulatedShardJobRunner(BenchLedger ledger, string silo, TimeSpan shortest, TimeSpan longest, long seed, CancellationToken killed)
    : IShardJobRunner
{
    private const int Steps = 3;

    public ShardOutcome Run(ShardJob job, string device, IShardReporter reporter, CancellationToken cancellationToken)
    {
        ledger.Started(job.RunKey);
        try
        {
            var random = new SplitMix64(Seeding.Derive(seed, "bench-job", $"{job.RunKey}#{job.Attempt}"));
            TimeSpan hold = shortest + (longest - shortest) * random.NextDouble();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, killed);
            DateTime lastReport = DateTime.MinValue;
            for (int step = 1; step <= Steps; step++)
            {
                if (stop.Token.WaitHandle.WaitOne(hold / Steps))
                    return Outcome(job, device, ShardResult.Cancelled);   // nobody hears it if the silo was killed
                // Reported as a real run reports (ShardProgressObserver): when logging is due, or a second since the last.
                if (!StepLogging.IsDue(step - 1, Steps, job.Spec.Training.LogEvery) && DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(1))
                    continue;
                lastReport = DateTime.UtcNow;
                reporter.Progress(job, new ProgressEvent
                {
                    ExperimentId = job.ExperimentId,
                    Seed = job.Seed,
                    Rank = job.Rank,
                    Kind = ProgressKind.Step,
                    Step = step,
                    TotalSteps = Steps,
                    Figures = new StepFigures { Step = step - 1, TotalSteps = Steps, Loss = 1.0 / step },
                    State = RunState.Running,
                }, lastCheckpoint: null);
            }
            return Outcome(job, device, ShardResult.Completed) with { Metrics = new RunMetrics { Steps = Steps, FinalLoss = 1.0 / Steps } };
        }
        finally
        {
            // A job stopped by its silo's death leaves no free device behind: the device is gone until the silo is back.
            ledger.Ended(job.RunKey, $"{silo}/{device}", deviceFree: !killed.IsCancellationRequested);
        }
    }

    private static ShardOutcome Outcome(ShardJob job, string device, ShardResult result) =>
        new() { Attempt = job.Attempt, Rank = job.Rank, Device = device, Result = result };
}
