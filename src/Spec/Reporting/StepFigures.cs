using System.Text.Json.Serialization;

namespace FlatLora.Spec.Reporting;

/// <summary>
/// What one optimizer step did, as every layer reports it: the trainer's step report, the progress events and seed
/// statuses of the cluster, metrics and the CLI all carry this one record rather than copies of its fields.
/// Plain (no Orleans attributes) so the trainer can build it; Orleans carries it as JSON like the specs.
/// </summary>
public sealed record StepFigures
{
    /// <summary>0-based index of the optimizer step that just finished.</summary>
    public long Step { get; init; }
    public long TotalSteps { get; init; }

    /// <summary>Cross-entropy per target token of the global batch.</summary>
    public double Loss { get; init; } = double.NaN;
    public double LearningRate { get; init; }

    /// <summary>Flat-LoRA's σ_t (0 for LoRA, and at the first step).</summary>
    public double Sigma { get; init; }

    /// <summary>LoRA gradient norm before clipping.</summary>
    public double GradNorm { get; init; }

    /// <summary>Non-padding input tokens this rank processed in the step.</summary>
    public long Tokens { get; init; }

    /// <summary>Examples this rank processed in the step.</summary>
    public int Samples { get; init; }
    public double StepSeconds { get; init; }
    public double TokensPerSecond { get; init; }
    public double EtaSeconds { get; init; }

    /// <summary>Gradient bytes this rank sent to its ring neighbour (0 for one rank).</summary>
    public long ExchangeBytes { get; init; }

    /// <summary>Time in the gradient all-reduce, waiting for slower ranks included.</summary>
    public double ExchangeSeconds { get; init; }

    /// <summary>S2R2: the drift penalty per example of the global batch (before its weight); null when off.</summary>
    public double? DriftPenalty { get; init; }

    /// <summary>S2R2: Σ‖A‖_F‖B‖_F at the start of the step (before its weight); null when off.</summary>
    public double? NormPenalty { get; init; }

    /// <summary>Optimizer steps done once this one finished.</summary>
    [JsonIgnore]
    public long StepsDone => Step + 1;

    [JsonIgnore]
    public bool IsLast => StepsDone >= TotalSteps;
}
