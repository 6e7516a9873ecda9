namespace FlatLora.Spec;

/// <summary>Batching and run length.</summary>
public sealed record TrainingSpec
{
    /// <summary>Examples per optimizer step, summed over all ranks and micro-batches.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Examples per forward pass on one rank; gradient accumulation covers the rest of the batch.</summary>
    public int MicroBatchSize { get; init; } = 16;

    /// <summary>Passes over the training data; ignored when <see cref="MaxSteps"/> is above zero.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Optimizer steps to run; 0 means run <see cref="Epochs"/> epochs.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Evaluate every this many optimizer steps (and always at the end); 0 evaluates only at the end.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Write a metrics line and a progress update every this many optimizer steps.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>
    /// Keep only each decoder layer's input during forward and recompute the layer in backward: activation memory
    /// drops from every layer's intermediates to one layer's, for about one extra forward pass of compute.
    /// </summary>
    public bool GradientCheckpointing { get; init; }
}
