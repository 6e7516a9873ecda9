using FlatLora.Spec;

namespace FlatLora.Trainer.Lora;

/// <summary>LoRA shape and placement, as the model builder needs it.</summary>
public sealed record LoraOptions(int Rank, double Alpha, double Dropout, IReadOnlyList<string> Targets)
{
    /// <summary>s = alpha / r, the factor on BA.</summary>
    public double Scale => Alpha / Rank;

    public static LoraOptions From(LoraSpec spec) => new(spec.Rank, spec.Alpha, spec.Dropout, spec.Targets);
}
