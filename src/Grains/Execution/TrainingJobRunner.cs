using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

namespace FlatLora.Grains.Execution;

/// <summary>
/// Runs a shard job with the trainer: builds the run from the job's spec on this device, resumes from the newest
/// checkpoint in the run's folder (a retry picks up where the last attempt stopped), trains, and classifies the end.
/// </summary>
public sealed class TrainingJobRunner : IShardJobRunner
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
            TrainSpec spec = job.Spec with { Device = TorchDevice(device) };
            using var run = FineTuneRun.Create(spec, new RunOptions { Observer = observer });
            if (run.LatestCheckpoint() is string checkpoint)
                run.ResumeFrom(checkpoint);
            TrainResult result = run.Train(cancellationToken);
            return Outcome(ShardResult.Completed, metrics: new RunMetrics
            {
                Steps = result.Steps,
                InitialLoss = result.InitialLoss,
                FinalLoss = result.FinalLoss,
                EvalLoss = result.FinalEval?.Loss ?? double.NaN,
                EvalExactMatch = result.FinalEval?.ExactMatch ?? double.NaN,
                EvalTokenAccuracy = result.FinalEval?.TokenAccuracy ?? double.NaN,
                TokensPerSecond = result.TokensPerSecond,
                ElapsedSeconds = result.ElapsedSeconds,
                AdapterDirectory = Path.GetFullPath(result.AdapterDirectory),
                FrozenWeightsUnchanged = result.FrozenWeightsUnchanged,
            });
        }
        catch (OperationCanceledException)
        {
            return Outcome(ShardResult.Cancelled);
        }
        catch (Exception e) when (e is SpecException or DataFormatException or SafeTensorsFormatException or TokenizerFormatException
                                       or NonFiniteLossException or ArgumentException or NotSupportedException or InvalidDataException)
        {
            // Retrying cannot fix bad input or a diverged run.
            return Outcome(ShardResult.Failed, e.Message);
        }
        catch (Exception e) when (e is IOException or TimeoutException or UnauthorizedAccessException)
        {
            return Outcome(ShardResult.FailedRetryable, e.Message);
        }
    }

    /// <summary>"cpu:1" is a CPU slot: the trainer runs on the CPU; "cuda:N" is itself.</summary>
    public static string TorchDevice(string device) => device.StartsWith("cpu", StringComparison.Ordinal) ? "cpu" : device;
}
