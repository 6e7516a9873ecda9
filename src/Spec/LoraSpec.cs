namespace FlatLora.Spec;

/// <summary>Where LoRA goes and its shape. Defaults follow the Flat-LoRA paper's Llama setting (r 8, alpha 16).</summary>
public sealed record LoraSpec
{
    public static readonly string[] DefaultTargets =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; } = 0.05;

    /// <summary>Linear layers wrapped with LoRA, by their module name (the last part of the parameter path).</summary>
    public string[] Targets { get; init; } = DefaultTargets;
}
