namespace FlatLora.Spec;

/// <summary>
/// S2R2 (segment-level robustness): perturbed copies of each prompt are teacher-forced on the same response; the
/// per-token divergence of the next-token distributions, averaged per response segment, is the segment's drift.
/// Training can penalise the highest-drift segments and the adapter norm; evaluation can measure the drift.
/// </summary>
public sealed record RobustnessSpec
{
    /// <summary>μ: weight of the segment-drift penalty in the training loss; 0 turns the regularizer off.</summary>
    public double Weight { get; init; }

    /// <summary>λ: weight of Σ over LoRA layers of ‖A‖_F·‖B‖_F (the paper's adapter-norm term); 0 is off.</summary>
    public double NormWeight { get; init; }

    /// <summary>Perturbations, "name" or "name:light|heavy"; each example draws one per step (training) or is tried with each (evaluation).</summary>
    public string[] Perturb { get; init; } = ["typo:light", "confusable:light", "casing:light", "punctuation:light"];

    /// <summary>topk (mean drift of the top_k segments) or softmax (drift weighted by softmax(drift / temperature)).</summary>
    public string Selection { get; init; } = "topk";

    public int TopK { get; init; } = 2;

    /// <summary>Temperature of the softmax selection, in nats.</summary>
    public double Temperature { get; init; } = 0.1;

    /// <summary>kl: KL(clean ‖ perturbed), the clean side held fixed; js: Jensen–Shannon.</summary>
    public string Divergence { get; init; } = "kl";

    /// <summary>Evaluation examples whose drift is measured at each evaluation (0: none).</summary>
    public int EvalExamples { get; init; }

    /// <summary>A segment whose drift exceeds this many nats counts as high-drift.</summary>
    public double HighDrift { get; init; } = 0.5;
}
