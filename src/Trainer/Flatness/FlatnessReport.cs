using FlatLora.Spec.Reporting;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// Expected sharpness at one σ: the mean over seeded samples of L(W' + ε_n) − L(W'), with a two-sided 95 % Student-t
/// confidence interval over the samples.
/// </summary>
public sealed record SharpnessEstimate(double Sigma, double Mean, double Low, double High, double StandardDeviation, IReadOnlyList<double> Samples)
{
    /// <summary>The name runs, sweeps and results use for this figure: sharpness@0.05.</summary>
    public string MetricName => FlatnessMetrics.Name(Sigma);
}

/// <summary>Loss along one filter-normalised direction: L(W' + α·d) at each α.</summary>
public sealed record LossCurve(int Direction, IReadOnlyList<double> Alphas, IReadOnlyList<double> Losses);

/// <summary>The top eigenvalue of the Hessian of the loss with respect to the perturbed weights, or why it is absent.</summary>
public sealed record HessianEstimate(double? TopEigenvalue, int Iterations, string? NotComputed)
{
    public static HessianEstimate Skipped(string why) => new(null, 0, why);
}

/// <summary>One model's flatness: its loss at W', expected sharpness per σ, loss curves and Hessian estimate.</summary>
public sealed record ModelFlatness(string Label, string? Adapter, double Loss, IReadOnlyList<SharpnessEstimate> Sharpness,
    IReadOnlyList<LossCurve> Curves, HessianEstimate Hessian);

/// <summary>Several models probed with the same seeded noise, for `flatlora flatness`.</summary>
public sealed record FlatnessReport(string Model, string Data, FlatnessSettings Settings, int Examples, IReadOnlyList<ModelFlatness> Models,
    DateTime CreatedUtc)
{
    /// <summary>Paired differences of sharpness between every two models.</summary>
    public IReadOnlyList<FlatnessComparison> Comparisons { get; } = FlatnessComparison.AllPairs(Models);
}
