using FlatLora.Trainer.Flat;

namespace FlatLora.Trainer.Training;

/// <summary>What one optimizer step did (global figures when data-parallel).</summary>
/// <param name="Step">0-based index of the optimizer step that just finished.</param>
/// <param name="Tokens">Non-padding input tokens this rank processed in the step.</param>
/// <param name="ExchangeBytes">Gradient bytes this rank sent to its ring neighbour (0 for one rank).</param>
/// <param name="ExchangeSeconds">Time in the gradient all-reduce, waiting for slower ranks included.</param>
public sealed record StepReport(
    long Step, long TotalSteps, double Loss, double LearningRate, double Sigma, double GradNorm,
    long Tokens, double StepSeconds, double TokensPerSecond, TimeSpan Eta, PerturbationFingerprint Fingerprint,
    long ExchangeBytes = 0, double ExchangeSeconds = 0)
{
    /// <summary>Examples (samples) this rank processed in the step.</summary>
    public int Samples { get; init; }

    /// <summary>S2R2: the drift penalty per example of the global batch (before its weight); null when off.</summary>
    public double? DriftPenalty { get; init; }

    /// <summary>S2R2: Σ‖A‖_F‖B‖_F at the start of the step (before its weight); null when off.</summary>
    public double? NormPenalty { get; init; }
}

/// <summary>Held-out metrics: mean token loss, token accuracy, and exact match of whole responses (teacher-forced argmax).</summary>
public sealed record EvalReport(long Step, double Loss, double TokenAccuracy, double ExactMatch, int Examples)
{
    /// <summary>S2R2 segment drift of held-out examples under the configured perturbations (robustness.eval_examples); null when off.</summary>
    public Robustness.DriftReport? Drift { get; init; }
}

/// <summary>The end of a run.</summary>
public sealed record TrainResult(
    long Steps, double InitialLoss, double FinalLoss, EvalReport? FinalEval, double TokensPerSecond,
    double ElapsedSeconds, string AdapterDirectory, bool? FrozenWeightsUnchanged);
