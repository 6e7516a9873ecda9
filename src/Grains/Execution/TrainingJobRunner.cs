using FlatLora.Abstractions.Cluster;
using FlatLora.Spec;
using FlatLora.Grains.Hosting;
using FlatLora.Collectives;
using FlatLora.Trainer.Training;
using FlatLora.Trainer.Errors;
using Microsoft.Extensions.Options;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Execution;

/// <summary>
/// Runs a shard job with the trainer: builds the run from the job's spec on this device, joins the run's gradient
/// ring when it has several ranks, resumes from a checkpoint (a retry picks up where the last attempt stopped),
/// trains, and classifies the end.
/// </summary>
public sealed class TrainingJobRunner(GradientInbox inbox, IOptions<FlatLoraClusterOptions> options) : IShardJobRunner
{
    public ShardOutcome Run(ShardJob job, string device, IShardReporter reporter, CancellationToken cancellationToken)
    {
        var observer = new ShardProgressObserver(job, reporter);
        ShardOutcome Outcome(ShardResult result, string? error = null, RunMetrics? metrics = null) => new()
        {
            Attempt = job.Attempt,
            Rank = job.Rank,
            Device = device,
            Result = result,
            Error = error,
            Metrics = metrics,
            LastCheckpoint = observer.LastCheckpoint,
        };
        try
        {
            // The seed run derived this spec (seed, output folder) and the device is this shard's: checked here, once.
            ValidTrainSpec spec = ValidTrainSpec.From(job.Spec with { Device = TorchDevice(device) });
            using RankExchange exchange = RankExchange.Join(job, inbox, options.Value, cancellationToken);
            using var run = FineTuneRun.Create(spec, new RunOptions { Observer = observer, Exchange = exchange.Exchange, Cancellation = cancellationToken });
            if (ResumePoint(job, run) is string checkpoint)
                run.ResumeFrom(checkpoint);
            TrainResult result = run.Train(cancellationToken);
            return Outcome(ShardResult.Completed, metrics: result.Metrics with { AdapterDirectory = Path.GetFullPath(result.Metrics.AdapterDirectory!) });
        }
        catch (OperationCanceledException)
        {
            return Outcome(ShardResult.Cancelled);
        }
        catch (PeerUnavailableException e)
        {
            return Outcome(ShardResult.FailedRetryable, e.Message) with { UnreachableRank = e.PeerRank };
        }
        catch (Exception e) when (Failures.Classify(e) is var kind && kind != FailureKind.Unexpected)
        {
            // Bad input, a diverged run or ranks that disagree fail at once: a retry would only repeat them.
            return Outcome(Failures.IsRetryable(kind) ? ShardResult.FailedRetryable : ShardResult.Failed, e.Message) with { NonFiniteLoss = kind == FailureKind.Diverged };
        }
    }

    /// <summary>
    /// A single rank resumes from the newest checkpoint it finds. Ranks of a data-parallel run resume from the one
    /// the seed run chose, so they agree even while a previous attempt's rank 0 is still writing a newer one.
    /// </summary>
    private static string? ResumePoint(ShardJob job, FineTuneRun run)
    {
        if (job.WorldSize == 1)
            return run.LatestCheckpoint();
        if (job.ResumeCheckpoint is null)
            return null;
        if (!Directory.Exists(job.ResumeCheckpoint))
            throw new DirectoryNotFoundException($"rank {job.Rank}: checkpoint {job.ResumeCheckpoint} is not visible on this node; " +
                                  "the ranks of a data-parallel run need an output_dir on storage that every silo shares");
        return job.ResumeCheckpoint;
    }

    /// <summary>"cpu:1" is a CPU slot: the trainer runs on the CPU; "cuda:N" is itself.</summary>
    public static string TorchDevice(string device) => device.StartsWith("cpu", StringComparison.Ordinal) ? "cpu" : device;
}
