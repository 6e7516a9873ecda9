namespace FlatLora.Trainer.Flatness;

/// <summary>What the flatness probe measures.</summary>
public sealed record FlatnessSettings
{
    /// <summary>Noise scales σ of the expected sharpness (Flat-LoRA's σ: ε_ij ~ N(0, σ²‖W'_i‖²/n_in)).</summary>
    public IReadOnlyList<double> Sigmas { get; init; } = [0.01, 0.02, 0.05, 0.1];

    /// <summary>Seeded noise samples per σ (the confidence interval needs at least 2).</summary>
    public int Samples { get; init; } = 16;

    /// <summary>Random filter-normalised directions for the 1-D loss curves (0: none).</summary>
    public int Directions { get; init; } = 3;

    /// <summary>Points of each curve, evenly spaced over α ∈ [−AlphaMax, AlphaMax] (odd, so α = 0 is one of them).</summary>
    public int Points { get; init; } = 21;

    /// <summary>Half-width of the curves' α range; 1 is Li et al.'s, where a step moves each row by its own norm.</summary>
    public double AlphaMax { get; init; } = 1;

    /// <summary>Power iterations for the top Hessian eigenvalue (0: not computed).</summary>
    public int HessianIterations { get; init; }

    /// <summary>Seeds every noise sample and direction; models probed with one seed see the same noise.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Evaluation examples used (the first this many; 0: all).</summary>
    public int MaxExamples { get; init; }

    /// <summary>A run's <c>evaluation.flatness</c>: expected sharpness only (no curves, no Hessian).</summary>
    public static FlatnessSettings From(Spec.FlatnessSpec spec) => new()
    {
        Sigmas = spec.Sigma, Samples = spec.Samples, Seed = spec.Seed, MaxExamples = spec.MaxExamples, Directions = 0,
    };

    public IReadOnlyList<double> Alphas() => Enumerable.Range(0, Points)
        .Select(i => Points == 1 ? 0 : AlphaMax * (2.0 * i / (Points - 1) - 1)).ToList();

    /// <summary>Refuses settings the probe cannot honour, naming the setting.</summary>
    public void Validate(Func<string, string> name)
    {
        if (Sigmas.Count == 0)
            throw new ArgumentException($"{name("sigma")}: list at least one noise scale");
        foreach (double sigma in Sigmas)
        {
            if (!double.IsFinite(sigma) || sigma < 0)
                throw new ArgumentException($"{name("sigma")}: each σ must be a finite number ≥ 0 (got {sigma})");
        }
        if (Sigmas.Distinct().Count() != Sigmas.Count)
            throw new ArgumentException($"{name("sigma")}: a σ is listed twice");
        if (Samples < 2)
            throw new ArgumentException($"{name("samples")}: must be at least 2 for a confidence interval (got {Samples})");
        if (Directions < 0)
            throw new ArgumentException($"{name("directions")}: must be 0 or positive (got {Directions})");
        if (Points < 3 || Points % 2 == 0)
            throw new ArgumentException($"{name("points")}: must be odd and at least 3, so α = 0 is on the curve (got {Points})");
        if (!double.IsFinite(AlphaMax) || AlphaMax <= 0)
            throw new ArgumentException($"{name("alpha-max")}: must be a finite number > 0 (got {AlphaMax})");
        if (HessianIterations < 0)
            throw new ArgumentException($"{name("hessian-iterations")}: must be 0 (off) or positive (got {HessianIterations})");
    }
}
