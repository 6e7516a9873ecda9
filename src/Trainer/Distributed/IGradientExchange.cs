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

    /// <summary>
    /// Starts the step's exchange before its last backward, so buckets whose gradients are final go out while backward
    /// continues through earlier layers; null when this exchange does not overlap (the caller uses
    /// <see cref="AllReduce"/> after backward). <paramref name="layers"/> gives each parameter's decoder layer.
    /// </summary>
    IOverlappedExchange? BeginOverlapped(long step, IReadOnlyList<TorchSharp.Modules.Parameter> parameters, IReadOnlyList<int> layers,
        ulong consistencyHash, CancellationToken cancellationToken = default) => null;
}

/// <summary>
/// Where backward is: a forward pass announces each decoder layer it probes, and backward reports each probe it passes.
/// Layer L is final once backward has passed every probe at L, since a parameter's gradient accumulates only when all
/// passes through it have delivered (S2R2 runs two forwards per micro-batch).
/// </summary>
public interface IBackwardProgress
{
    /// <summary>A forward pass put a probe on <paramref name="layer"/>'s input.</summary>
    void Probed(int layer);

    /// <summary>Backward passed a probe on <paramref name="layer"/>. Called from inside backward: it only signals.</summary>
    void Reached(int layer);
}

/// <summary>One step's exchange running alongside backward (see <see cref="IGradientExchange.BeginOverlapped"/>).</summary>
public interface IOverlappedExchange : IBackwardProgress, IDisposable
{
    /// <summary>After backward: sends what is left with the step's <paramref name="scalars"/> (summed in place) and waits for every bucket.</summary>
    void Finish(double[] scalars);
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
