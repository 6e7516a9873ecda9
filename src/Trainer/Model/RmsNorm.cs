using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>Root-mean-square layer norm, computed in fp32 whatever the weight dtype (as Hugging Face Llama does).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;
    private readonly double _eps;

    public RmsNorm(long size, double eps, ScalarType dtype, Device device) : base(nameof(RmsNorm))
    {
        // Parameter takes the tensor's storage and leaves it an empty shell, which is disposed here rather than by the GC.
        using (Tensor storage = ones(size, dtype: dtype, device: device))
            _weight = new Parameter(storage, requires_grad: false);
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor h = x.to(float32);
        Tensor variance = h.pow(2).mean([-1], keepdim: true);
        h = h * rsqrt(variance + _eps);
        return (_weight * h.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
