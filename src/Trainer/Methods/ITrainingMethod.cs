namespace FlatLora.Trainer.Methods;

/// <summary>
/// What a fine-tuning method adds to plain LoRA training around each optimizer step. Flat-LoRA switches on the step's
/// weight noise; a weight-space SAM or Bi-LoRA would do its own thing here. The training loop calls these and nothing
/// method-specific, and a method changes the model only through the layers' <see cref="Lora.IFrozenProjection"/>.
/// </summary>
public interface ITrainingMethod : IDisposable
{
    /// <summary>Before the step's first micro-batch. Returns the step's perturbation scale (0: the model runs as LoRA).</summary>
    double BeginStep(long step);

    /// <summary>After the step's last backward, also when the step failed.</summary>
    void EndStep();

    /// <summary>
    /// A hash of what this rank's forward passes saw in the step beyond the shared weights (0: nothing). Data-parallel
    /// ranks compare it: a mismatch means their seeds, steps or weights disagree.
    /// </summary>
    ulong ConsistencyHash(long step);

    /// <summary>Raises the first fault a custom backward of this method recorded (call after backward()).</summary>
    void ThrowIfBackwardFaulted();
}
