using FlatLora.Trainer.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Training;

/// <summary>Next-token cross-entropy in fp32, summed over target positions (callers divide by the batch's target count).</summary>
public static class CausalLmLoss
{
    /// <param name="logits">(B, T, V) in any dtype.</param>
    /// <param name="targets">(B, T) ids, <see cref="ExampleEncoder.Ignore"/> where no loss is taken.</param>
    public static Tensor Sum(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        long vocab = logits.shape[^1];
        Tensor flatLogits = logits.reshape(-1, vocab).to(float32);                     // (B·T, V)
        Tensor loss = F.cross_entropy(flatLogits, targets.reshape(-1), ignore_index: ExampleEncoder.Ignore,
            reduction: nn.Reduction.Sum);
        return loss.MoveToOuterDisposeScope();
    }
}
