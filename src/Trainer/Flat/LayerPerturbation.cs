using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Lora;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Flat;

/// <summary>
/// Flat-LoRA state of one LoRA layer, and the layer's frozen projection while Flat-LoRA runs: x·(W + ε)ᵀ during a
/// perturbed step, x·Wᵀ otherwise. It keeps O(out) memory: ‖W_i‖² (constant, W is frozen) and this step's row scales
/// σ_t·‖W'_i‖/√in. The noise itself, ε = scale_i·z_ij with z from the counter stream (run seed, layer, step), is
/// regenerated whenever it is needed and never stored.
/// </summary>
internal sealed class LayerPerturbation : IFrozenProjection, IDisposable
{
    private readonly LoraLinear _layer;
    private readonly long _noiseKey;
    private readonly Tensor _rowScale;            // (out) fp32
    private readonly BackwardFaults _faults;
    private readonly Cuda.CudaNoiseKernel? _kernel;
    private Tensor? _baseRowNormSquared;          // (out) fp32, ‖W_i‖²

    /// <param name="kernel">The run's fused noise kernel for the layer's GPU, or null to generate the noise on the CPU.</param>
    public LayerPerturbation(LoraLinear layer, int index, long noiseKey, BackwardFaults faults, Cuda.CudaNoiseKernel? kernel = null)
    {
        _faults = faults;
        _layer = layer;
        _noiseKey = noiseKey;
        _kernel = kernel;
        Index = index;
        _rowScale = zeros(layer.OutFeatures, dtype: float32, device: layer.Weight.device).DetachFromDisposeScope();
    }

    public int Index { get; }
    public LoraLinear Layer => _layer;
    public long Step { get; private set; } = -1;
    public double Sigma { get; private set; }
    public bool IsActive { get; private set; }

    /// <summary>This step's standard-normal stream: element i·in + j is z_ij.</summary>
    public CounterNormal Stream => new(_noiseKey, (uint)Index, (uint)Step);

    /// <summary>σ_t·‖W'_i‖/√in per output row, for the active step.</summary>
    public Tensor RowScale => _rowScale;

    /// <summary>Computes this step's row scales from the current A and B and switches the noise on.</summary>
    public void Activate(long step, double sigma)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor normSquared = MergedRowNormSquared();                              // (out)
        _rowScale.copy_(normSquared.div_(_layer.InFeatures).sqrt_().mul_(sigma));
        Step = step;
        Sigma = sigma;
        IsActive = true;
    }

    /// <summary>
    /// Switches on stream <paramref name="step"/> with row scales chosen by the caller (a filter-normalised direction
    /// of the flatness probe): ε_ij = rowScale_i·z_ij through the same regenerate-don't-store path as training.
    /// </summary>
    internal void ActivateWithRowScale(long step, Tensor rowScale)
    {
        using var noGrad = no_grad();
        _rowScale.copy_(rowScale);
        Step = step;
        Sigma = double.NaN;
        IsActive = true;
    }

    public void Deactivate() => IsActive = false;

    public Tensor Forward(Tensor x, Tensor weight) => IsActive ? PerturbedLinearFunction.apply(x, Capture()) : F.linear(x, weight);

    public void RecordBackwardFault(Exception fault) => _faults.Record(fault);

    /// <summary>A handle for autograd: backward must see the same step's noise as forward did.</summary>
    public PerturbationCapture Capture() => new(this, Step);

    /// <summary>ε for the active step, (out, in) fp32 on the weight's device.</summary>
    public Tensor Epsilon() => Epsilon(Stream, _rowScale, _layer.Weight);

    /// <summary>ε = scale_i·z_ij from <paramref name="stream"/>, fp32 on <paramref name="weight"/>'s device.</summary>
    internal static Tensor Epsilon(CounterNormal stream, Tensor rowScale, Tensor weight)
    {
        using var scope = NewDisposeScope();
        Tensor z = NoiseFill.StandardNormal(stream, weight.shape[0], weight.shape[1]).to(weight.device);
        return z.mul_(rowScale.to(weight.device).unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// W + ε the generic way: ε in fp32, W promoted exactly, one rounding to the weight dtype. The definition the
    /// CUDA kernel must reproduce bit for bit.
    /// </summary>
    internal static Tensor PerturbedWeight(CounterNormal stream, Tensor rowScale, Tensor weight)
    {
        using var scope = NewDisposeScope();
        return Epsilon(stream, rowScale, weight).add_(weight).to(weight.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>W + ε in the weight dtype, as a new transient tensor. W itself is only read.</summary>
    public Tensor PerturbedWeight()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // On a GPU, one fused kernel does the same math without a weight-sized fp32 temporary or a host copy.
        if (_kernel is not null && _layer.Weight.device.type == TorchSharp.DeviceType.CUDA && _layer.Weight.is_contiguous())
            return _kernel.PerturbedWeight(_layer.Weight, _rowScale, Stream).MoveToOuterDisposeScope();
        return PerturbedWeight(Stream, _rowScale, _layer.Weight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ‖W'_i‖² for W' = W + s·BA without forming W': ‖W_i‖² + 2s·Σ_k B_ik(WAᵀ)_ik + s²·(B(AAᵀ)Bᵀ)_ii.
    /// One read of W (the (out, r) product WAᵀ); everything else is rank-sized.
    /// </summary>
    internal Tensor MergedRowNormSquared()
    {
        Tensor w = _layer.Weight, a = _layer.LoraA, b = _layer.LoraB;
        _baseRowNormSquared ??= RowNormSquared(w).DetachFromDisposeScope();
        double s = _layer.Scale;
        Tensor wat = F.linear(w, a.to(w.dtype)).to(float32);                      // (out, r)
        Tensor cross = (b * wat).sum(1);                                          // (out)
        Tensor quad = (b.matmul(a.matmul(a.t())) * b).sum(1);                      // (out)
        return (_baseRowNormSquared + cross.mul_(2 * s) + quad.mul_(s * s)).clamp_min_(0);
    }

    // In row blocks so a bf16 weight never needs a full fp32 copy.
    private static Tensor RowNormSquared(Tensor w)
    {
        using var scope = NewDisposeScope();
        const long RowsPerBlock = 4096;
        var blocks = new List<Tensor>();
        for (long row = 0; row < w.shape[0]; row += RowsPerBlock)
        {
            Tensor block = w.narrow(0, row, Math.Min(RowsPerBlock, w.shape[0] - row)).to(float32);
            blocks.Add(block.pow(2).sum(1));
        }
        return cat(blocks, 0).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _rowScale.Dispose();
        _baseRowNormSquared?.Dispose();
    }
}
