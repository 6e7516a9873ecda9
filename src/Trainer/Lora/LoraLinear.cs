using FlatLora.Trainer.Determinism;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Lora;

/// <summary>
/// A frozen linear layer plus a low-rank update: y = x·Wᵀ + s·B(A(dropout(x))), s = alpha/r. A and B stay fp32
/// (master weights) whatever the base dtype. The frozen product x·Wᵀ goes through <see cref="Projection"/>, which a
/// method may replace (Flat-LoRA computes x·(W + ε)ᵀ there without ever writing W); the layer itself knows no method.
/// Parameter names follow PEFT: <c>weight</c>, <c>lora_A.weight</c>, <c>lora_B.weight</c>.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;   // (out, in), frozen
    [ComponentName(Name = "lora_A")] private readonly Linear _loraA;       // weight (r, in), fp32
    [ComponentName(Name = "lora_B")] private readonly Linear _loraB;       // weight (out, r), fp32
    private readonly double _dropout;
    private readonly DropoutStreams? _dropoutStreams;
    private readonly int _ordinal;

    /// <param name="dropoutStreams">Where training draws the dropout masks; null for a layer that never trains with dropout.</param>
    /// <param name="ordinal">This layer's place among the model's LoRA layers: its own mask stream.</param>
    public LoraLinear(string path, long inFeatures, long outFeatures, LoraOptions options, ScalarType dtype, Device device,
        DropoutStreams? dropoutStreams = null, int ordinal = 0)
        : base(nameof(LoraLinear))
    {
        Path = path;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Rank = options.Rank;
        Scale = options.Scale;
        _dropout = options.Dropout;
        _dropoutStreams = dropoutStreams;
        _ordinal = ordinal;
        // Parameter takes the tensor's storage and leaves it an empty shell, which is disposed here rather than by the GC.
        using (Tensor storage = empty(outFeatures, inFeatures, dtype: dtype, device: device))
            _weight = new Parameter(storage, requires_grad: false);
        _loraA = nn.Linear(inFeatures, options.Rank, hasBias: false, device: device, dtype: float32);
        _loraB = nn.Linear(options.Rank, outFeatures, hasBias: false, device: device, dtype: float32);
        RegisterComponents();
    }

    /// <summary>Module path, e.g. <c>model.layers.3.self_attn.q_proj</c>.</summary>
    public string Path { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public int Rank { get; }
    public double Scale { get; }

    /// <summary>True after <see cref="Merge"/>: W holds W + s·BA and the low-rank branch is skipped.</summary>
    public bool Merged { get; private set; }

    public Parameter Weight => _weight;
    public Parameter LoraA => _loraA.weight!;
    public Parameter LoraB => _loraB.weight!;

    /// <summary>How the frozen weight is applied; placed by the builder of a method (plain x·Wᵀ by default).</summary>
    public IFrozenProjection Projection { get; set; } = PlainProjection.Instance;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor output = Projection.Forward(x, _weight);
        if (Merged)
            return output.MoveToOuterDisposeScope();

        Tensor h = _dropout > 0 && training ? x * DropoutMask(x) : x;
        // Compute the low-rank branch in the activation dtype; autograd casts gradients back to the fp32 masters.
        Tensor low = F.linear(h, LoraA.to(x.dtype));                        // (B, T, r)
        // output + s·low·Bᵀ as one GEMM with its epilogue (beta = 1, alpha = s): no (B, T, out) temporaries for the
        // scaled update and the sum, in forward or backward.
        long[] shape = output.shape;
        Tensor sum = addmm(output.reshape(-1, OutFeatures), low.reshape(-1, Rank), LoraB.to(x.dtype).t(), beta: 1, alpha: (float)Scale);
        return sum.view(shape).MoveToOuterDisposeScope();
    }

    private Tensor DropoutMask(Tensor x) => (_dropoutStreams ?? throw new InvalidOperationException(
            $"{Path}: lora.dropout is {_dropout} but the layer was built without the run's dropout streams (training needs them)"))
        .Mask(_ordinal, x.shape, _dropout, x.dtype, x.device);

    /// <summary>PEFT's init: A Kaiming-uniform (a = √5, so U(±1/√in)), B zero, so training starts at the base model.</summary>
    public void ResetLora(long runSeed)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();   // the in-place ops below return wrappers of their own
        double bound = 1.0 / Math.Sqrt(InFeatures);
        using var generator = new Generator(unchecked((ulong)Seeding.Derive(runSeed, "lora-init", Path)));
        using Tensor a = rand(LoraA.shape, dtype: float32, generator: generator);
        LoraA.copy_(a.mul_(2 * bound).sub_(bound));
        LoraB.zero_();
    }

    /// <summary>W + s·BA as a new tensor in the base dtype; W itself is untouched.</summary>
    public Tensor MergedWeight()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor delta = LoraB.matmul(LoraA).mul_(Scale);                              // (out, in), fp32
        // Not add_: for an fp32 weight, to(float32) is the weight itself, and W must never change here.
        return (_weight.to(float32) + delta).to(_weight.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Folds s·BA into W for inference. In bf16 a later <see cref="Unmerge"/> is exact only up to rounding.</summary>
    public void Merge()
    {
        if (Merged)
            throw new InvalidOperationException($"{Path} is already merged");
        using var noGrad = no_grad();
        using Tensor merged = MergedWeight();
        _weight.copy_(merged);
        Merged = true;
    }

    public void Unmerge()
    {
        if (!Merged)
            throw new InvalidOperationException($"{Path} is not merged");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor delta = LoraB.matmul(LoraA).mul_(Scale);
        _weight.copy_((_weight.to(float32) - delta).to(_weight.dtype));
        Merged = false;
    }
}
