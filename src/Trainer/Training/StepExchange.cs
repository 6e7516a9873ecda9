using FlatLora.Trainer.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>
/// A step's gradient exchange, from the trainer's side: started before the last backward when the exchange can
/// overlap with it, finished after; otherwise one all-reduce after backward. Either way the LoRA gradients and the
/// step's loss sums come out summed over ranks.
/// </summary>
internal sealed class StepExchange(IGradientExchange exchange, IReadOnlyList<Parameter> parameters, IReadOnlyList<int> layers)
{
    /// <summary>For <see cref="RankGradientPass.Run"/>: starts the step's exchange once the step's consistency hash is known.</summary>
    public Func<ulong, IOverlappedExchange?> Begin(long step, CancellationToken cancellationToken) =>
        hash => exchange.BeginOverlapped(step, parameters, layers, hash, cancellationToken);

    /// <summary>Sums the gradients and <paramref name="sums"/> (in place) over ranks.</summary>
    public void Complete(long step, RankGradientPass.Result local, double[] sums, CancellationToken cancellationToken)
    {
        if (local.Exchange is { } overlapped)
        {
            using (overlapped)
                overlapped.Finish(sums);
            return;
        }
        exchange.AllReduce(step, Gradients(), sums, local.ConsistencyHash, cancellationToken);
    }

    // A rank whose share of a short final batch is empty still joins the exchange, with zero gradients.
    private List<Tensor> Gradients()
    {
        foreach (Parameter p in parameters)
        {
            if (p.grad is null)
                p.grad = zeros_like(p).DetachFromDisposeScope();
        }
        return parameters.Select(p => p.grad!).ToList();
    }
}
