namespace FlatLora.Trainer.Training;

/// <summary>
/// The sums one optimizer step adds up over its micro-batches and then over ranks: they cross the gradient exchange
/// with the gradients, so the loss is the global batch's whatever the split.
/// </summary>
internal struct StepSums
{
    /// <summary>Σ cross-entropy over the step's target tokens (divided by their count for the loss).</summary>
    public double CrossEntropy;

    /// <summary>S2R2: Σ over examples of the selected segment drift (divided by the global batch for the report).</summary>
    public double DriftPenalty;

    /// <summary>S2R2: Σ‖A‖_F‖B‖_F, added once per step.</summary>
    public double NormPenalty;

    public void Add(StepSums part)
    {
        CrossEntropy += part.CrossEntropy;
        DriftPenalty += part.DriftPenalty;
        NormPenalty += part.NormPenalty;
    }

    /// <summary>The exchange's wire form: a fixed order of doubles.</summary>
    public readonly double[] ToArray() => [CrossEntropy, DriftPenalty, NormPenalty];

    public static StepSums FromArray(double[] values) => new() { CrossEntropy = values[0], DriftPenalty = values[1], NormPenalty = values[2] };
}
