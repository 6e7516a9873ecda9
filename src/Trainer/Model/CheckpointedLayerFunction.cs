using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Gradient checkpointing of one decoder layer (TorchSharp has no torch.utils.checkpoint). Forward runs the layer
/// without building a graph and keeps only its input; backward runs it again with the graph on and takes the
/// gradients of the input and of the layer's trainable (LoRA) parameters with autograd.grad.
/// - The trainable parameters are inputs of this function, so its output requires grad even when the layer input
///   does not (the frozen embedding feeds the first layer), and autograd accumulates their gradients as usual.
/// - Autograd keeps the input, the rotary tables and the mask alive until backward, so no tensor's lifetime depends
///   on the caller's dispose scopes.
/// - The recomputation is the same computation: Flat-LoRA's ε regenerates from its counter stream, and dropout's
///   counter stream is put back at the position forward saw (<see cref="IForwardState"/>); nothing reads the
///   process-global generator, so this works on any device.
/// </summary>
internal sealed class CheckpointedLayerFunction : autograd.SingleTensorFunction<CheckpointedLayerFunction>
{
    private const string LayerKey = "layer";
    private const string FaultKey = "fault";
    private const string TrainableKey = "parameters";
    private const string HasMaskKey = "has-mask";
    private const string ForwardStateKey = "forward-state";
    private const int ObjectArguments = 5;   // layer, fault sink, forward state, the parameter list, its count

    public override string Name => "CheckpointedDecoderLayer";

    /// <summary>Runs <paramref name="layer"/> on <paramref name="input"/>, recomputing it in backward.</summary>
    public static Tensor Run(LlamaDecoderLayer layer, Tensor input, AttentionContext context, IReadOnlyList<Tensor> trainable,
        Action<Exception> onBackwardFault, IForwardState? forwardState)
    {
        if (context.Cache is not null)
            throw new InvalidOperationException("gradient checkpointing is for training; generation with a key/value cache runs without it");
        // The parameters go in twice: as tensor inputs (for autograd) and as the caller's list (for backward).
        return apply([input, context.Cos, context.Sin, context.Mask ?? empty(0), .. trainable, layer, onBackwardFault,
            (forwardState, forwardState?.Capture()), trainable, trainable.Count]);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var (cos, sin, mask) = ((Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        int count = (int)vars[^1];
        var layer = (LlamaDecoderLayer)vars[4 + count];
        bool hasMask = mask.numel() > 0;
        ctx.save_for_backward([input, cos, sin, hasMask ? mask : cos]);
        ctx.save_data(LayerKey, layer);
        ctx.save_data(FaultKey, vars[5 + count]);
        ctx.save_data(ForwardStateKey, vars[6 + count]);
        ctx.save_data(TrainableKey, vars[7 + count]);
        ctx.save_data(HasMaskKey, hasMask);
        using var noGrad = no_grad();
        return layer.forward(input, new AttentionContext(cos, sin, hasMask ? mask : null, null));
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var layer = (LlamaDecoderLayer)ctx.get_data(LayerKey);
        var onFault = (Action<Exception>)ctx.get_data(FaultKey);
        var trainable = ((IReadOnlyList<Tensor>)ctx.get_data(TrainableKey)).ToList();
        bool hasMask = (bool)ctx.get_data(HasMaskKey);
        var (forwardState, captured) = ((IForwardState?, object?))ctx.get_data(ForwardStateKey);
        using var scope = NewDisposeScope();
        List<Tensor> saved = ctx.get_saved_variables();
        Tensor savedInput = saved[0];
        List<Tensor> result;
        // This runs inside libtorch's autograd engine, where an escaping exception kills the process: a fault is
        // handed to the run (raised after backward returns) and the gradients are poisoned with NaN meanwhile.
        try
        {
            result = Recompute(layer, saved, hasMask, trainable, gradOutput, forwardState, captured);
        }
        catch (Exception e)
        {
            onFault(e);
            result = [full_like(savedInput, double.NaN), .. trainable.Select(p => full_like(p, double.NaN))];
        }
        foreach (Tensor? gradient in result)
            gradient?.DetachFromDisposeScope();
        // No gradient for the rotary tables, the mask, or the non-tensor arguments.
        return [result[0], null!, null!, null!, .. result.Skip(1), .. Enumerable.Repeat<Tensor>(null!, ObjectArguments)];
    }

    private static List<Tensor> Recompute(LlamaDecoderLayer layer, List<Tensor> saved, bool hasMask, List<Tensor> trainable, Tensor gradOutput,
        IForwardState? forwardState, object? captured)
    {
        Tensor savedInput = saved[0];
        object? outer = forwardState?.Capture();
        forwardState?.Restore(captured!);
        try
        {
            using var grad = enable_grad();
            Tensor input = savedInput.detach().requires_grad_(savedInput.requires_grad);
            Tensor output = layer.forward(input, new AttentionContext(saved[1], saved[2], hasMask ? saved[3] : null, null));
            List<Tensor> wrt = savedInput.requires_grad ? [input, .. trainable] : trainable;
            IList<Tensor> grads = autograd.grad([output], wrt, [gradOutput], allow_unused: true);
            int offset = savedInput.requires_grad ? 1 : 0;
            return [savedInput.requires_grad ? grads[0] : null!, .. trainable.Select((p, i) => grads[offset + i] ?? zeros_like(p))];
        }
        finally
        {
            if (forwardState is not null)
                forwardState.Restore(outer!);
        }
    }
}
