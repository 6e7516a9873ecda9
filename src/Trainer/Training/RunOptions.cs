using FlatLora.Trainer.Distributed;

namespace FlatLora.Trainer.Training;

/// <summary>How a run is hosted: progress sink, gradient exchange (data parallelism), and where checkpoints go.</summary>
public sealed record RunOptions
{
    public ITrainingObserver Observer { get; init; } = SilentObserver.Instance;
    public IGradientExchange Exchange { get; init; } = SingleProcessExchange.Instance;

    /// <summary>Checkpoint root; defaults to <c>output_dir/checkpoints</c>.</summary>
    public string? CheckpointRoot { get; init; }

    /// <summary>Stops the long setup phases (reading and tokenizing data, loading weights) within about a second.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Hash the frozen weights before and after the run and report whether they are bit-identical.</summary>
    public bool VerifyFrozenWeights { get; init; } = true;
}
