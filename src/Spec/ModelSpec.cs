namespace FlatLora.Spec;

/// <summary>The frozen base model.</summary>
public sealed record ModelSpec
{
    /// <summary>A model built in code (no download): "tiny". Ignored when <see cref="Path"/> is set.</summary>
    public string? Builtin { get; init; } = "tiny";

    /// <summary>A Hugging Face model folder (config.json + safetensors).</summary>
    public string? Path { get; init; }

    /// <summary>Storage and compute dtype of the frozen base: float32, bfloat16 or float16.</summary>
    public string Dtype { get; init; } = "float32";
}
