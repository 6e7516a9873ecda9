using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private readonly nn.Module<Tensor, Tensor> _gateProj;
    [ComponentName(Name = "up_proj")] private readonly nn.Module<Tensor, Tensor> _upProj;
    [ComponentName(Name = "down_proj")] private readonly nn.Module<Tensor, Tensor> _downProj;

    public LlamaMlp(LlamaConfig config, string path, LinearFactory linear) : base(nameof(LlamaMlp))
    {
        _gateProj = linear($"{path}.gate_proj", config.HiddenSize, config.IntermediateSize);
        _upProj = linear($"{path}.up_proj", config.HiddenSize, config.IntermediateSize);
        _downProj = linear($"{path}.down_proj", config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = F.silu(_gateProj.forward(x)) * _upProj.forward(x);   // (B, T, I)
        return _downProj.forward(hidden).MoveToOuterDisposeScope();
    }
}
