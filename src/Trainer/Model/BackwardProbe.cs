using FlatLora.Trainer.Distributed;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// An identity on a decoder layer's input whose backward says "backward has passed this layer". TorchSharp has no
/// tensor backward hooks, so this is how data-parallel exchange learns when a layer's LoRA gradients are final:
/// autograd runs a parameter's gradient accumulation as soon as it is ready, ahead of every other node, so by the time
/// the gradient of layer L's input exists, every parameter of layers ≥ L has its gradient.
/// </summary>
internal sealed class BackwardProbe : autograd.SingleTensorFunction<BackwardProbe>
{
    private const string LayerKey = "layer", ReachedKey = "reached";

    public override string Name => "LayerBackwardProbe";

    public static Tensor Apply(Tensor input, int layer, IBackwardProgress progress)
    {
        progress.Probed(layer);
        return apply(input, layer, progress);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data(LayerKey, vars[1]);
        ctx.save_data(ReachedKey, vars[2]);
        return ((Tensor)vars[0]).clone();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        // Inside libtorch's autograd engine an escaping exception kills the process: the callback only signals.
        try
        {
            ((IBackwardProgress)ctx.get_data(ReachedKey)).Reached((int)ctx.get_data(LayerKey));
        }
        catch (Exception)
        {
            // A lost signal costs only overlap: the exchange takes every bucket once backward has returned.
        }
        return [gradOutput, null!, null!];
    }
}
