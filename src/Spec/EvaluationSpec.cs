using System.Text.Json.Serialization;

namespace FlatLora.Spec;

/// <summary>Extra measurements of a run's final weights, beyond held-out loss and accuracy.</summary>
public sealed record EvaluationSpec
{
    public FlatnessSpec Flatness { get; init; } = new();
}

/// <summary>
/// Expected sharpness E[L(W' + ε)] − L(W') of the final merged weights on the evaluation data, under Flat-LoRA's
/// filter-wise noise at each σ (metrics sharpness@σ). Off while <see cref="Sigma"/> is empty. It costs
/// sigma × samples evaluation passes, once, after the last step.
/// </summary>
public sealed record FlatnessSpec
{
    /// <summary>Noise scales σ (ε_ij ~ N(0, σ²‖W'_i‖²/n_in)); empty: off.</summary>
    public double[] Sigma { get; init; } = [];

    /// <summary>Seeded noise samples per σ.</summary>
    public int Samples { get; init; } = 8;

    /// <summary>
    /// Seeds the probe's noise. The same for every run by default, so runs (and sweep arms) are compared on common
    /// noise; the run seed still varies the trained weights.
    /// </summary>
    public long Seed { get; init; } = 1;

    /// <summary>Evaluation examples probed (the first N; 0: all).</summary>
    public int MaxExamples { get; init; }

    [JsonIgnore, YamlDotNet.Serialization.YamlIgnore]
    public bool Enabled => Sigma.Length > 0;
}
