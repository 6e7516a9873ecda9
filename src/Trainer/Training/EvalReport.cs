using FlatLora.Spec.Reporting;

namespace FlatLora.Trainer.Training;

/// <summary>Held-out metrics: mean token loss, token accuracy, and exact match of whole responses (teacher-forced argmax).</summary>
public sealed record EvalReport(long Step, double Loss, double TokenAccuracy, double ExactMatch, int Examples)
{
    /// <summary>S2R2 segment drift of held-out examples under the configured perturbations (robustness.eval_examples); null when off.</summary>
    public Robustness.DriftReport? Drift { get; init; }

    /// <summary>Expected sharpness of these weights (evaluation.flatness, final evaluation only); null when off.</summary>
    public Flatness.ModelFlatness? Flatness { get; init; }

    /// <summary>These held-out figures written into a run's outcome figures.</summary>
    public RunMetrics Into(RunMetrics metrics) => metrics with
    {
        EvalLoss = Loss,
        EvalExactMatch = ExactMatch,
        EvalTokenAccuracy = TokenAccuracy,
        EvalSegmentDrift = Drift?.Overall.Mean ?? double.NaN,
        EvalHighDriftShare = Drift?.Overall.HighDriftShare ?? double.NaN,
        Sharpness = Flatness?.Sharpness.ToDictionary(e => e.MetricName, e => e.Mean) ?? [],
    };
}
