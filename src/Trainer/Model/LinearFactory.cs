using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Builds the linear layer at a module path (e.g. <c>model.layers.0.self_attn.q_proj</c>) with a bias-free
/// (out, in) weight. The model asks for every projection through this, so a builder decides where LoRA goes and
/// the model never reads a LoRA configuration.
/// </summary>
public delegate nn.Module<Tensor, Tensor> LinearFactory(string path, long inFeatures, long outFeatures);
