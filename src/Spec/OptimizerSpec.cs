namespace FlatLora.Spec;

/// <summary>AdamW over the LoRA parameters with warmup and a decay schedule. Defaults follow the Flat-LoRA paper.</summary>
public sealed record OptimizerSpec
{
    public double Lr { get; init; } = 5e-4;
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;

    /// <summary>Share of the steps spent in linear warmup; the paper uses 3%.</summary>
    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Warmup steps; overrides <see cref="WarmupRatio"/> when set.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>cosine, linear or constant decay after warmup.</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Learning rate at the end of the schedule, as a share of <see cref="Lr"/>.</summary>
    public double MinLrRatio { get; init; }

    /// <summary>Clip the global gradient norm to this; 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
}
