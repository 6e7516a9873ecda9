using System.Text.Json.Serialization;

namespace FlatLora.Spec;

/// <summary>Plain LoRA, or Flat-LoRA (expected loss under random full-weight perturbation).</summary>
public sealed record MethodSpec
{
    public const string Lora = "lora";
    public const string Flat = "flat";

    /// <summary>lora or flat.</summary>
    public string Name { get; init; } = Flat;

    /// <summary>Final noise scale ρ of σ_t = ρ·½(1 − cos(πt/T)). The paper uses 0.05 for language models.</summary>
    public double Rho { get; init; } = 0.05;

    [JsonIgnore, YamlDotNet.Serialization.YamlIgnore]
    public bool IsFlat => Name == Flat;
}
