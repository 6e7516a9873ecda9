using System.Text.Json.Serialization;

namespace FlatLora.Spec;

/// <summary>
/// One training run: what to fine-tune, how, on what data. Loaded from YAML or JSON (snake_case keys); every field
/// has a default so the smallest valid file is empty.
/// </summary>
public sealed record TrainSpec
{
    public ModelSpec Model { get; init; } = new();
    public LoraSpec Lora { get; init; } = new();
    public MethodSpec Method { get; init; } = new();
    public DataSpec Data { get; init; } = new();
    public TrainingSpec Training { get; init; } = new();
    public OptimizerSpec Optimizer { get; init; } = new();
    public CheckpointSpec Checkpoint { get; init; } = new();
    public RobustnessSpec Robustness { get; init; } = new();
    public EvaluationSpec Evaluation { get; init; } = new();
    public ExperimentSection Experiment { get; init; } = new();

    /// <summary>Run seed: LoRA init, data order, dropout and every Flat-LoRA perturbation derive from it.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>cpu, cuda, cuda:N or auto (cuda when it initialises, else cpu).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Where the adapter, checkpoints, metrics and summary go.</summary>
    public string OutputDir { get; init; } = "runs/tiny";

    /// <summary>The seeds an experiment runs: <c>experiment.seeds</c>, or just <c>seed</c>.</summary>
    [JsonIgnore, YamlDotNet.Serialization.YamlIgnore]
    public IReadOnlyList<long> ExperimentSeeds => Experiment.Seeds.Length > 0 ? Experiment.Seeds : [Seed];
}
