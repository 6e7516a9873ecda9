namespace FlatLora.Spec.Reporting;

/// <summary>
/// Outcome figures of one seeded run (NaN where a figure does not exist, e.g. no eval set). The trainer produces it,
/// summary.json, the seed run and the results tables all carry it as is. Plain, so the trainer can build it; Orleans
/// carries it as JSON like the specs.
/// </summary>
public sealed record RunMetrics
{
    public long Steps { get; init; }
    public double InitialLoss { get; init; } = double.NaN;
    public double FinalLoss { get; init; } = double.NaN;
    public double EvalLoss { get; init; } = double.NaN;
    public double EvalExactMatch { get; init; } = double.NaN;
    public double EvalTokenAccuracy { get; init; } = double.NaN;
    public double TokensPerSecond { get; init; } = double.NaN;
    public double ElapsedSeconds { get; init; } = double.NaN;
    public string? AdapterDirectory { get; init; }
    public bool? FrozenWeightsUnchanged { get; init; }

    /// <summary>S2R2 at the final evaluation: mean segment drift (nats) and the share of high-drift segments.</summary>
    public double EvalSegmentDrift { get; init; } = double.NaN;
    public double EvalHighDriftShare { get; init; } = double.NaN;

    /// <summary>Expected sharpness of the final weights by metric name (sharpness@0.05), when evaluation.flatness is on.</summary>
    public Dictionary<string, double> Sharpness { get; init; } = [];

    /// <summary>Every metric this run has: <see cref="Names"/> and its sharpness@σ.</summary>
    public IEnumerable<string> AllNames => Names.Concat(Sharpness.Keys.Order(StringComparer.Ordinal));

    /// <summary>Metric by the name sweeps and results use (eval_exact_match, final_loss, sharpness@0.05, ...).</summary>
    public double Get(string metric) => metric switch
    {
        _ when metric.StartsWith(FlatnessMetrics.Prefix, StringComparison.Ordinal) => Sharpness.GetValueOrDefault(metric, double.NaN),
        "initial_loss" => InitialLoss,
        "final_loss" => FinalLoss,
        "eval_loss" => EvalLoss,
        "eval_exact_match" => EvalExactMatch,
        "eval_token_accuracy" => EvalTokenAccuracy,
        "eval_segment_drift" => EvalSegmentDrift,
        "eval_high_drift_share" => EvalHighDriftShare,
        "tokens_per_second" => TokensPerSecond,
        "elapsed_seconds" => ElapsedSeconds,
        _ => throw new ArgumentException($"unknown metric '{metric}' (known: {string.Join(", ", Names)}, sharpness@σ)", nameof(metric)),
    };

    public static readonly string[] Names =
        ["eval_exact_match", "eval_token_accuracy", "eval_loss", "final_loss", "initial_loss", "tokens_per_second", "elapsed_seconds",
         "eval_segment_drift", "eval_high_drift_share"];
}
