using System.Text.Json.Serialization;

namespace FlatLora.Trainer.Training;

/// <summary>Everything besides tensors that a resumed run needs, stored as <c>trainer_state.json</c>.</summary>
public sealed record TrainerState
{
    /// <summary>The next optimizer step to run (= steps completed).</summary>
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("total_steps")] public long TotalSteps { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("method")] public string Method { get; init; } = "";
    [JsonPropertyName("rho")] public double Rho { get; init; }
    [JsonPropertyName("world_size")] public int WorldSize { get; init; } = 1;

    /// <summary>Data cursor: the epoch and the batch within it that come next (derived from the step and stored for people).</summary>
    [JsonPropertyName("epoch")] public long Epoch { get; init; }
    [JsonPropertyName("batch_in_epoch")] public long BatchInEpoch { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    [JsonPropertyName("first_loss")] public double FirstLoss { get; init; } = double.NaN;

    /// <summary>The run's spec as JSON, to refuse resuming under a different one.</summary>
    [JsonPropertyName("spec")] public string SpecJson { get; init; } = "";
    [JsonPropertyName("written_utc")] public DateTime WrittenUtc { get; init; }
}
