using FlatLora.Abstractions.Experiments;
using Orleans.Streams;
using Orleans.Streams.Core;
using FlatLora.Spec;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Sweeps;

/// <summary>
/// The sweep's progress stream (an implicit subscription): a trial's first event answers its configuration's launch,
/// and its evaluations feed successive halving, which stops the weak seeds at each rung.
/// </summary>
public sealed partial class SweepGrain
{
    /// <summary>This sweep's progress stream, which its experiments and their seed runs also publish to.</summary>
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<ProgressEvent>().ResumeAsync(this);

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    /// <summary>A trial's event: it answers its configuration's launch, and evaluations feed successive halving.</summary>
    public async Task OnNextAsync(ProgressEvent progress, StreamSequenceToken? token = null)
    {
        int configurationIndex = S.Configurations.FindIndex(c => c.ExperimentId == progress.ExperimentId);
        if (configurationIndex < 0)
            return;   // this sweep's own events come back here too
        if (S.Configurations[configurationIndex].State == RunState.Queued)
            S.Configurations[configurationIndex].State = RunState.Running;   // it answered: no need to launch it again
        if (S.Sweep?.Asha is not AshaSpec asha || progress.Kind != ProgressKind.Eval || progress.Seed < 0)
            return;
        double value = asha.Metric switch
        {
            "eval_exact_match" => progress.EvalExactMatch,
            "eval_token_accuracy" => progress.EvalTokenAccuracy,
            _ => progress.EvalLoss,
        };
        var scheduler = new AshaScheduler(asha, S.AshaRecords);
        if (scheduler.Report($"{configurationIndex}/{progress.Seed}", progress.Step, value) is long rung)
        {
            S.EarlyStopped++;
            await PersistAsync();
            LogEarlyStop(logger, Key, configurationIndex, progress.Seed, rung);
            await GrainFactory.GetGrain<IExperimentGrain>(progress.ExperimentId).StopSeedAsync(progress.Seed,
                $"successive halving: {asha.Metric} {value:G4} not in the best 1/{asha.Reduction} at step {rung}");
        }
        else if (S.AshaRecords.Count > 0)
        {
            await PersistAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Key}: configuration {Index} seed {Seed} stopped early at step {Rung}")]
    private static partial void LogEarlyStop(ILogger logger, string key, int index, long seed, long rung);
}
