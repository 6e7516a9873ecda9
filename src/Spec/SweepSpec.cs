namespace FlatLora.Spec;

/// <summary>
/// A hyperparameter sweep (`flatlora sweep`): a base spec, a grid and/or random search over spec fields (by their
/// dotted path, e.g. <c>method.name</c>), every configuration run with every seed.
/// </summary>
public sealed record SweepSpec
{
    public string? Name { get; init; }

    /// <summary>Path of the base spec file, relative to the sweep file. Alternatively give it inline as <see cref="Spec"/>.</summary>
    public string? Base { get; init; }

    /// <summary>The base spec inline.</summary>
    public TrainSpec? Spec { get; init; }

    /// <summary>
    /// Field path → value set in every configuration before the grid's (e.g. <c>evaluation.flatness.samples: 32</c>);
    /// written as in a spec, a list quoted: <c>"[0.05, 0.1]"</c>. Not part of the configurations' labels.
    /// </summary>
    public Dictionary<string, string> Set { get; init; } = [];

    /// <summary>Field path → values; the grid is their cartesian product. Values are written as in a spec (YAML scalars).</summary>
    public Dictionary<string, string[]> Grid { get; init; } = [];

    public RandomSearchSpec Random { get; init; } = new();

    /// <summary>Seeds every configuration runs with; empty means the base spec's seeds.</summary>
    public long[] Seeds { get; init; } = [];

    /// <summary>Configurations running at once (the cluster's free devices limit it too).</summary>
    public int MaxConcurrent { get; init; } = 2;

    /// <summary>Successive-halving early stopping; off when null.</summary>
    public AshaSpec? Asha { get; init; }

    /// <summary>The pair of configurations to compare with a Welch t-test, e.g. method.name lora vs flat.</summary>
    public CompareSpec? Compare { get; init; }

    /// <summary>Metrics to aggregate (mean ± std over seeds).</summary>
    public string[] Metrics { get; init; } = ["eval_exact_match", "eval_token_accuracy", "eval_loss", "final_loss"];
}

/// <summary>Random search: <see cref="Trials"/> configurations drawn from <see cref="Space"/>, crossed with the grid.</summary>
public sealed record RandomSearchSpec
{
    public int Trials { get; init; }
    public long Seed { get; init; }
    public Dictionary<string, DistributionSpec> Space { get; init; } = [];
}

/// <summary>One of: uniform [lo, hi], log_uniform [lo, hi], int_uniform [lo, hi] (inclusive), choice [values].</summary>
public sealed record DistributionSpec
{
    public double[]? Uniform { get; init; }
    public double[]? LogUniform { get; init; }
    public long[]? IntUniform { get; init; }
    public string[]? Choice { get; init; }
}

/// <summary>
/// Asynchronous successive halving: when a run reports <see cref="Metric"/> at a rung (an optimizer step), it goes on
/// only if it is in the best 1/<see cref="Reduction"/> of the runs that reached that rung so far.
/// </summary>
public sealed record AshaSpec
{
    public string Metric { get; init; } = "eval_loss";

    /// <summary>min (lower is better) or max.</summary>
    public string Mode { get; init; } = "min";
    public long[] Rungs { get; init; } = [];
    public int Reduction { get; init; } = 2;
}

/// <summary>Which field distinguishes the two arms of the comparison, and its two values.</summary>
public sealed record CompareSpec
{
    public string Field { get; init; } = "method.name";
    public string A { get; init; } = "lora";
    public string B { get; init; } = "flat";
}
