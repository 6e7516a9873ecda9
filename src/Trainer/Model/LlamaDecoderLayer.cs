using TorchSharp.Utils;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _inputLayernorm;
    [ComponentName(Name = "self_attn")] private readonly LlamaAttention _selfAttn;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _postAttentionLayernorm;
    [ComponentName(Name = "mlp")] private readonly LlamaMlp _mlp;

    public LlamaDecoderLayer(LlamaConfig config, int index, string path, LinearFactory linear, ScalarType dtype, Device device)
        : base(nameof(LlamaDecoderLayer))
    {
        _inputLayernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        _selfAttn = new LlamaAttention(config, index, $"{path}.self_attn", linear);
        _postAttentionLayernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        _mlp = new LlamaMlp(config, $"{path}.mlp", linear);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        Tensor h = x + _selfAttn.forward(_inputLayernorm.forward(x), context);
        Tensor output = h + _mlp.forward(_postAttentionLayernorm.forward(h));
        return output.MoveToOuterDisposeScope();
    }
}
