using FlatLora.Spec.Reporting;

namespace FlatLora.Trainer.Training;

/// <summary>The end of a run: its outcome figures (the final evaluation's included) and that evaluation in full.</summary>
public sealed record TrainResult(RunMetrics Metrics, EvalReport? FinalEval);
