using static TorchSharp.torch;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Sums LoRA gradients (and the step's loss sums) over all ranks of a data-parallel run, and checks that every
/// rank reports the same consistency hash for the step. Single-process runs use <see cref="SingleProcessExchange"/>.
/// </summary>
public interface IGradientExchange
{
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>Bytes this rank sent in its last exchange (0 for a single process).</summary>
    long LastBytesSent { get; }

    /// <summary>Wall time of the last exchange, waiting for slower ranks included.</summary>
    TimeSpan LastDuration { get; }

    /// <summary>
    /// In place: each gradient, and each of the step's <paramref name="scalars"/> (loss sums), becomes the sum over
    /// ranks. Throws when a peer does not answer in time or its <paramref name="consistencyHash"/> differs (ranks whose
    /// seeds, steps or weights disagree, e.g. Flat-LoRA noise that is not the same).
    /// </summary>
    void AllReduce(long step, IReadOnlyList<Tensor> gradients, double[] scalars, ulong consistencyHash,
        CancellationToken cancellationToken = default);
}

/// <summary>World size 1: nothing to exchange.</summary>
public sealed class SingleProcessExchange : IGradientExchange
{
    public static readonly SingleProcessExchange Instance = new();

    public int Rank => 0;
    public int WorldSize => 1;
    public long LastBytesSent => 0;
    public TimeSpan LastDuration => TimeSpan.Zero;

    public void AllReduce(long step, IReadOnlyList<Tensor> gradients, double[] scalars, ulong consistencyHash,
        CancellationToken cancellationToken = default)
    {
    }
}
