using System.Text.Json.Serialization;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Hugging Face's <c>rope_scaling</c>: "llama3" (Llama 3.1 frequency-band scaling) or "linear" (position
/// interpolation). Llama 2 checkpoints have none.
/// </summary>
public sealed record RopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }
    [JsonPropertyName("type")] public string? LegacyType { get; init; }
    [JsonPropertyName("factor")] public double Factor { get; init; } = 1;
    [JsonPropertyName("low_freq_factor")] public double LowFreqFactor { get; init; } = 1;
    [JsonPropertyName("high_freq_factor")] public double HighFreqFactor { get; init; } = 4;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    [JsonIgnore] public string Kind => RopeType ?? LegacyType ?? "default";

    public void Validate()
    {
        if (Kind is not ("default" or "linear" or "llama3"))
            throw new InvalidDataException($"config.json: rope_scaling type '{Kind}' is not supported (default, linear, llama3)");
        if (!(Factor > 0))
            throw new InvalidDataException($"config.json: rope_scaling.factor must be positive (got {Factor})");
    }
}
