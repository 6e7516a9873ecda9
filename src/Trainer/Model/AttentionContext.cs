using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// What every attention layer of one forward pass shares: rotary tables, an optional attention mask, and an
/// optional key/value cache for generation.
/// </summary>
/// <param name="Cos">(B, 1, T, hD) rotary cosines for the query positions.</param>
/// <param name="Sin">(B, 1, T, hD) rotary sines.</param>
/// <param name="Mask">(B, 1, T, S) boolean, true = may attend; null means plain causal attention.</param>
/// <param name="Cache">Keys and values of earlier positions; null when not generating.</param>
/// <param name="ExplicitAttention">softmax(QKᵀ/√d)·V written out instead of the fused kernel (see <see cref="LlamaModel.ExplicitAttention"/>).</param>
public sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, KeyValueCache? Cache, bool ExplicitAttention = false);
