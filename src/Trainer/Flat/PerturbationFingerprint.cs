namespace FlatLora.Trainer.Flat;

/// <summary>
/// A cheap summary of one optimizer step's perturbation: a hash of ε at fixed positions of every layer. Two ranks
/// with equal fingerprints drew the same noise for the same weights; a mismatch means their seeds, steps or LoRA
/// weights disagree.
/// </summary>
public readonly record struct PerturbationFingerprint(long Step, double Sigma, ulong Hash)
{
    public static PerturbationFingerprint Inactive(long step) => new(step, 0, 0);

    public override string ToString() => $"step {Step} σ={Sigma:G6} ε-hash {Hash:x16}";
}
