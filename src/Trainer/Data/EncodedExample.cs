namespace FlatLora.Trainer.Data;

/// <summary>
/// Token ids ready for a causal LM: <see cref="Targets"/>[t] is the token to predict after <see cref="InputIds"/>[t],
/// or <see cref="ExampleEncoder.Ignore"/> where no loss is taken (prompt tokens).
/// </summary>
public sealed record EncodedExample(int[] InputIds, int[] Targets, string Source, bool Truncated)
{
    public int TargetCount { get; } = Targets.Count(t => t != ExampleEncoder.Ignore);

    /// <summary>The text it was encoded from (S2R2 perturbs its prompt); null for synthetic token data.</summary>
    public TrainingExample? Example { get; init; }
}
