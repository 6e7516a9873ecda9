using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Training;

namespace FlatLora.Grains.Execution;

/// <summary>Turns trainer callbacks into progress events: a step event when logging is due, or at most once a second.</summary>
internal sealed class ShardProgressObserver(ShardJob job, IShardReporter reporter) : ITrainingObserver
{
    private DateTime _lastStepReport = DateTime.MinValue;

    public string? LastCheckpoint { get; private set; }

    public void OnStep(StepReport report)
    {
        StepFigures step = report.Figures;
        bool due = StepLogging.IsDue(step, job.Spec.Training.LogEvery) || DateTime.UtcNow - _lastStepReport > TimeSpan.FromSeconds(1);
        if (!due)
            return;
        _lastStepReport = DateTime.UtcNow;
        reporter.Progress(job, Event(ProgressKind.Step) with { Step = step.StepsDone, TotalSteps = step.TotalSteps, Figures = step }, LastCheckpoint);
    }

    public void OnEval(EvalReport report) => reporter.Progress(job, Event(ProgressKind.Eval) with
    {
        Step = report.Step,
        EvalLoss = report.Loss,
        EvalExactMatch = report.ExactMatch,
        EvalTokenAccuracy = report.TokenAccuracy,
        EvalSegmentDrift = report.Drift?.Overall.Mean ?? double.NaN,
        EvalHighDriftShare = report.Drift?.Overall.HighDriftShare ?? double.NaN,
        EvalSharpness = report.Flatness?.Sharpness.ToDictionary(e => e.MetricName, e => e.Mean) ?? [],
        SegmentDrifts = report.Drift?.SegmentDrifts.ToArray() ?? [],
    }, LastCheckpoint);

    public void OnCheckpoint(long step, string directory, TimeSpan duration)
    {
        LastCheckpoint = Path.GetFullPath(directory);
        reporter.Progress(job, Event(ProgressKind.Message) with
        {
            Step = step,
            Message = $"checkpoint {LastCheckpoint}",
            CheckpointSeconds = duration.TotalSeconds,
        }, LastCheckpoint);
    }

    public void OnInfo(string message) => reporter.Progress(job, Event(ProgressKind.Message) with { Message = message }, LastCheckpoint);

    private ProgressEvent Event(ProgressKind kind) => new()
    {
        ExperimentId = job.ExperimentId,
        Seed = job.Seed,
        Kind = kind,
        Rank = job.Rank,
        State = RunState.Running,
    };
}
