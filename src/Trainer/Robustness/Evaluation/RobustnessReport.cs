using FlatLora.Trainer.Robustness.Perturbations;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>Settings of a generation-drift evaluation (what `flatlora robustness` was run with).</summary>
public sealed record GenerationDriftSettings
{
    public required IReadOnlyList<string> Perturbations { get; init; }
    public int MaxExamples { get; init; } = 32;
    public int MaxNewTokens { get; init; } = 48;
    public long Seed { get; init; } = 1;

    /// <summary>Entropic regularisation of the Sinkhorn alignment (in units of the 1 − cosine cost).</summary>
    public double Epsilon { get; init; } = 0.05;

    /// <summary>Segment masses: uniform, or length (characters).</summary>
    public string Mass { get; init; } = "uniform";

    /// <summary>A segment whose drift (1 − cosine scale) exceeds this is high-drift.</summary>
    public double HighDrift { get; init; } = 0.3;

    /// <summary>Sequence similarity at or above which a perturbed answer "looks like" the clean one as a whole.</summary>
    public double SimilarSequence { get; init; } = 0.9;

    /// <summary>Embedding model: null for the evaluated model itself, else a path.</summary>
    public string? Embedder { get; init; }
}

/// <summary>One perturbed prompt of one example, its generation, and how each clean segment drifted.</summary>
public sealed record PerturbedGeneration(
    string Perturbation, string Prompt, IReadOnlyList<PerturbationEdit> Edits, string Text, IReadOnlyList<TextUnit> Segments,
    IReadOnlyList<SegmentDriftResult> Drift, double SequenceSimilarity, double? RougeL)
{
    public double MaxDrift => Drift.Count == 0 ? 0 : Drift.Max(d => d.Drift);
}

public sealed record ExampleRobustness(
    int Index, string Source, string Prompt, string? Reference, string Clean, IReadOnlyList<TextUnit> CleanSegments, double? CleanRougeL,
    IReadOnlyList<PerturbedGeneration> Perturbed);

/// <summary>
/// One perturbation over all examples. <see cref="HiddenDriftExamples"/> counts answers that look similar as a whole
/// (sequence similarity ≥ the threshold) yet have a high-drift segment: what a sequence-level metric misses.
/// <see cref="PerformanceDropRate"/> is (clean − perturbed) / clean of mean ROUGE-L F1 against the references.
/// </summary>
public sealed record PerturbationSummary(
    string Perturbation, int Examples, int Segments, double MeanDrift, double P95Drift, double MaxDrift, double HighDriftShare,
    double MeanSequenceSimilarity, int HiddenDriftExamples, int CriticalChanges, double? PerformanceDropRate);

public sealed record ModelRobustness(string Label, string? Adapter, IReadOnlyList<PerturbationSummary> Summary, IReadOnlyList<ExampleRobustness> Examples);

public sealed record RobustnessReport(string Model, string Data, GenerationDriftSettings Settings, IReadOnlyList<ModelRobustness> Models, DateTime CreatedUtc);
