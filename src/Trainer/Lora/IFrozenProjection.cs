using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Lora;

/// <summary>
/// How a LoRA layer applies its frozen weight: y = x·Wᵀ unless a method places something else here (Flat-LoRA places
/// x·(W + ε)ᵀ). The layer only calls it, so LoRA never knows which method runs. An implementation must never write W.
/// </summary>
public interface IFrozenProjection
{
    /// <param name="x">(…, in) activations.</param>
    /// <param name="weight">(out, in) frozen weight.</param>
    /// <returns>(…, out).</returns>
    Tensor Forward(Tensor x, Tensor weight);
}

/// <summary>The frozen product as it is: x·Wᵀ.</summary>
public sealed class PlainProjection : IFrozenProjection
{
    public static readonly PlainProjection Instance = new();

    private PlainProjection()
    {
    }

    public Tensor Forward(Tensor x, Tensor weight) => F.linear(x, weight);
}
