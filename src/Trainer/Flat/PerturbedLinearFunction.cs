using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Flat;

/// <summary>
/// y = x·(W + ε)ᵀ as a custom autograd function. Forward builds W + ε in a transient buffer; backward regenerates it
/// from the counter stream for dy/dx = dy·(W + ε). Nothing weight-sized outlives a call and W is never written,
/// which is what keeps the frozen weights bit-identical (the reference method's add-then-subtract does not).
/// No gradient flows to W or ε: W is frozen and the noise scale is treated as a constant, as in the paper.
/// </summary>
internal sealed class PerturbedLinearFunction : autograd.SingleTensorFunction<PerturbedLinearFunction>
{
    private const string CaptureKey = "capture";

    public override string Name => "FlatLoraPerturbedLinear";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var capture = (PerturbationCapture)vars[1];
        ctx.save_data(CaptureKey, capture);
        using Tensor perturbed = capture.PerturbedWeight();       // (out, in)
        return F.linear(x, perturbed);                            // (B, T, out)
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var capture = (PerturbationCapture)ctx.get_data(CaptureKey);
        // This runs inside libtorch's autograd engine: an exception escaping here would kill the process. Faults are
        // recorded for the run to raise after backward() returns, and the gradient is poisoned with NaN meanwhile.
        try
        {
            using Tensor perturbed = capture.PerturbedWeight();   // regenerated, bit-identical to forward's
            return [gradOutput.matmul(perturbed), null!];         // (B, T, in); nothing for the capture
        }
        catch (Exception e)
        {
            capture.Layer.RecordBackwardFault(e);
            long[] shape = [.. gradOutput.shape[..^1], capture.Layer.Layer.InFeatures];
            return [full(shape, double.NaN, dtype: gradOutput.dtype, device: gradOutput.device), null!];
        }
    }
}
