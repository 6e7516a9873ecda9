using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Execution;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Tests;

/// <summary>
/// A stand-in for training that makes cluster tests fast and scriptable. It runs training.max_steps fake steps of
/// 20 ms, reporting progress, and behaves by experiment.name: "fail" fails for good at step 2; "flaky" fails
/// retryably at step 2 on its first attempt; "lost-outcome" does the same on every rank and <see cref="OutcomeDroppingReporter"/>
/// drops those outcomes; "hang" runs until cancelled; "slow-tail" has rank 0 spend 4 s (longer than the fixture's
/// heartbeat timeout) on its final evaluation and checkpoint after the other ranks ended; "fail-on-cancel" runs until
/// cancelled and then fails retryably (a peer refused it meanwhile); "slow-stop" runs until cancelled and takes 3 s to
/// stop; "crash" throws at step 2, as a bug in a runner would. Metrics are a fixed function of the seed
/// and method so aggregates can be checked exactly.
/// </summary>
public sealed class FakeShardJobRunner : IShardJobRunner
{
    public static double ExactMatch(long seed, string method) => 0.1 * (seed % 5) + (method == "flat" ? 0.05 : 0);

    /// <summary>What a run reports as sharpness@σ when evaluation.flatness lists σ: lower for flat, varying by seed.</summary>
    public static double Sharpness(long seed, string method, double sigma) => sigma * (0.2 + 0.01 * (seed % 3) - (method == "flat" ? 0.05 : 0));

    /// <summary>Every job any silo of this process started, for tests to inspect what the seed runs handed out.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentQueue<ShardJob> Jobs = new();

    public ShardOutcome Run(ShardJob job, string device, IShardReporter reporter, CancellationToken cancellationToken)
    {
        Jobs.Enqueue(job);
        string mode = job.Spec.Experiment.Name ?? "";
        long steps = Math.Max(1, job.Spec.Training.MaxSteps);
        string checkpoint = $"{job.Spec.OutputDir}/checkpoints/step-000001";
        ShardOutcome End(ShardResult result, string? error = null, RunMetrics? metrics = null) =>
            new() { Attempt = job.Attempt, Rank = job.Rank, Device = device, Result = result, Error = error, Metrics = metrics, LastCheckpoint = checkpoint };
        bool untilCancelled = mode is "hang" or "fail-on-cancel" or "slow-stop";
        for (long step = 1; untilCancelled || step <= steps; step++)
        {
            if (cancellationToken.WaitHandle.WaitOne(20))
            {
                if (mode == "fail-on-cancel")
                    return End(ShardResult.FailedRetryable, "rank 1 refused the step (scripted, while cancelling)");
                if (mode == "slow-stop")
                    Thread.Sleep(3000);
                return End(ShardResult.Cancelled);
            }
            if (mode == "crash" && step == 2)
                throw new InvalidOperationException("the scripted runner crashed");
            if (mode == "fail" && step == 2)
                return End(ShardResult.Failed, "the loss is NaN (scripted)") with { NonFiniteLoss = true };
            if (mode is "flaky" or "lost-outcome" && job.Attempt == 1 && step == 2)
                return End(ShardResult.FailedRetryable, "lost a peer (scripted)");
            reporter.Progress(job, new ProgressEvent
            {
                ExperimentId = job.ExperimentId,
                Seed = job.Seed,
                Rank = job.Rank,
                Kind = ProgressKind.Step,
                Step = Math.Min(step, steps),
                TotalSteps = steps,
                Figures = new StepFigures { Step = Math.Min(step, steps) - 1, TotalSteps = steps, Loss = 1.0 / step },
                State = RunState.Running,
            }, checkpoint);
            if (job.Spec.Training.EvalEvery > 0 && step % job.Spec.Training.EvalEvery == 0)
                reporter.Progress(job, new ProgressEvent
                {
                    ExperimentId = job.ExperimentId,
                    Seed = job.Seed,
                    Rank = job.Rank,
                    Kind = ProgressKind.Eval,
                    Step = step,
                    EvalExactMatch = ExactMatch(job.Seed, job.Spec.Method.Name),
                    State = RunState.Running,
                }, checkpoint);
        }
        if (mode == "slow-tail" && job.Rank == 0 && cancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(4)))
            return End(ShardResult.Cancelled);
        return End(ShardResult.Completed, metrics: new RunMetrics
        {
            Steps = steps,
            InitialLoss = 1,
            FinalLoss = 1.0 / steps,
            EvalExactMatch = ExactMatch(job.Seed, job.Spec.Method.Name),
            EvalLoss = 1 - ExactMatch(job.Seed, job.Spec.Method.Name),
            AdapterDirectory = $"{job.Spec.OutputDir}/adapter",
            Sharpness = job.Spec.Evaluation.Flatness.Sigma.ToDictionary(FlatnessMetrics.Name, sigma => Sharpness(job.Seed, job.Spec.Method.Name, sigma)),
        });
    }
}
