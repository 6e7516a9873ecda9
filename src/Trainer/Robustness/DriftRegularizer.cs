using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Robustness;

/// <summary>
/// The S2R2 training terms. Choices the paper leaves open, and ours:
/// - each example draws one perturbation from the list per step, seeded by (run seed, step, example), so every
///   rank, and a resumed run, perturbs the same way whatever the batch split;
/// - drift is the teacher-forced per-token divergence averaged per response segment (<see cref="SegmentDrift"/>);
/// - top-k: the mean drift of an example's k highest-drift segments; softmax: Σ wᵢ·dᵢ with w = softmax(d / τ)
///   computed without gradient, so the weights pick segments and the gradient only lowers drift;
/// - the penalty is summed over examples and divided by the global batch size, so it does not depend on how the
///   batch is split across ranks and micro-batches;
/// - the adapter term λ·Σ‖A‖_F‖B‖_F is added once per optimizer step (first micro-batch of rank 0).
/// </summary>
public sealed class DriftRegularizer(RobustnessSpec spec, ITokenizer tokenizer, int maxSeqLen, long runSeed)
{
    private readonly IReadOnlyList<PerturbationChoice> _choices = spec.Perturb.Length == 0 ? [] : PerturbationCatalog.Parse(spec.Perturb, "robustness.perturb");

    public bool PenalisesDrift => spec.Weight > 0;
    public bool PenalisesNorm => spec.NormWeight > 0;
    public double Weight => spec.Weight;
    public double NormWeight => spec.NormWeight;
    public string Divergence => spec.Divergence;

    /// <summary>Pairs for a micro-batch; <paramref name="indices"/> are dataset indices (they seed the perturbation).</summary>
    public List<TeacherForcedPair> Pairs(long step, IReadOnlyList<int> indices, IReadOnlyList<EncodedExample> examples)
    {
        var pairs = new List<TeacherForcedPair>(examples.Count);
        for (int i = 0; i < examples.Count; i++)
        {
            TrainingExample example = examples[i].Example
                ?? throw new InvalidOperationException("robustness.weight needs text examples; this data set has token ids only");
            var random = new PerturbationRandom(Seeding.Derive(runSeed, "s2r2", step, indices[i]));
            PerturbationChoice choice = _choices[random.Next(_choices.Count)];
            pairs.Add(TeacherForcedPair.Build(example, choice, ref random, tokenizer, maxSeqLen));
        }
        return pairs;
    }

    /// <summary>Σ over pairs of the selected segments' drift (a scalar; 0 when no segment has a shared token).</summary>
    public Tensor Penalty(Tensor drift, int[] owner, int pairCount)
    {
        Tensor total = zeros(1, device: drift.device).squeeze();
        for (int pair = 0; pair < pairCount; pair++)
        {
            long[] mine = Enumerable.Range(0, owner.Length).Where(s => owner[s] == pair).Select(s => (long)s).ToArray();
            if (mine.Length == 0)
                continue;
            Tensor d = drift.index_select(0, tensor(mine, device: drift.device));
            total = total + (spec.Selection == "softmax"
                ? (nn.functional.softmax(d.detach() / spec.Temperature, 0) * d).sum()
                : d.topk(Math.Min(spec.TopK, mine.Length)).values.mean());
        }
        return total;
    }

    /// <summary>Σ over LoRA layers of ‖A‖_F·‖B‖_F: the bound on ‖BA‖_F the paper penalises to keep adapters small.</summary>
    public static Tensor NormPenalty(IEnumerable<LoraLinear> layers)
    {
        Tensor? total = null;
        foreach (LoraLinear layer in layers)
        {
            Tensor term = layer.LoraA.to(float32).norm() * layer.LoraB.to(float32).norm();
            total = total is null ? term : total + term;
        }
        return total ?? zeros(1).squeeze();
    }
}
