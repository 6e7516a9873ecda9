using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// What a seed run tells the others: its versioned status to its experiment (named by the run's own key, so a seed
/// cancelled before its plan arrived can still report), and its progress on the streams.
/// </summary>
internal sealed partial class SeedRunReports(IGrainFactory grains, IStreamProvider streams, string runKey, ILogger logger)
{
    private readonly SeedRunKey _key = SeedRunKey.Parse(runKey);

    public SeedRunStatus Status(SeedRunGrainState s, StepFigures? latest) => new()
    {
        Seed = _key.Seed,
        State = s.State,
        Step = s.Step,
        TotalSteps = s.TotalSteps,
        Latest = latest,
        Attempt = s.Attempt,
        UnroutedStarts = s.UnroutedAttempts,
        Devices = s.Devices.Select(d => d.ShardKey).ToList(),
        LastCheckpoint = s.LastCheckpoint,
        Error = s.Error,
        Metrics = s.Metrics,
        OutputDirectory = s.Plan?.Spec.OutputDir,
        Version = s.Version,
        Preemptions = s.Preemptions,
    };

    public void NotifyExperiment(SeedRunGrainState s, StepFigures? latest) =>
        _ = grains.GetGrain<IExperimentGrain>(_key.ExperimentId).OnSeedStatusAsync(Status(s, latest));

    /// <summary>The run's end, awaited; returns whether the experiment has it.</summary>
    public async Task<bool> ReportEndAsync(SeedRunGrainState s)
    {
        try
        {
            await grains.GetGrain<IExperimentGrain>(_key.ExperimentId).OnSeedEndedAsync(Status(s, null));
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogEndUndelivered(logger, runKey, e.Message);
            return false;
        }
    }

    public Task PublishAsync(SeedRunGrainState s, ProgressEvent progress) =>
        new ProgressPublisher(streams, _key.ExperimentId, s.Plan?.SweepId, logger).PublishAsync(progress);

    public Task PublishMessageAsync(SeedRunGrainState s, string message) => PublishAsync(s, new ProgressEvent
    {
        ExperimentId = _key.ExperimentId,
        Seed = _key.Seed,
        Kind = ProgressKind.Message,
        Step = s.Step,
        TotalSteps = s.TotalSteps,
        State = s.State,
        Message = message,
    });

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: its end did not reach its experiment, will repeat it: {Error}")]
    private static partial void LogEndUndelivered(ILogger logger, string key, string error);
}
