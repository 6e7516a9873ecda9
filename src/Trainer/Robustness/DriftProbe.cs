using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Robustness;

/// <summary>Segment drift under one perturbation: mean, 95th percentile, max, and the share above the high-drift threshold.</summary>
public sealed record DriftSummary(string Perturbation, int Segments, double Mean, double P95, double Max, double HighDriftShare)
{
    public static DriftSummary Of(string perturbation, IReadOnlyList<double> drifts, double threshold)
    {
        if (drifts.Count == 0)
            return new DriftSummary(perturbation, 0, double.NaN, double.NaN, double.NaN, double.NaN);
        double[] sorted = [.. drifts.Order()];
        return new DriftSummary(perturbation, sorted.Length, sorted.Average(), Percentile(sorted, 0.95), sorted[^1],
            (double)sorted.Count(d => d > threshold) / sorted.Length);
    }

    /// <summary>Linear interpolation between closest ranks (NumPy's default).</summary>
    public static double Percentile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position), high = (int)Math.Ceiling(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}

/// <summary>Drift measured at one evaluation: per perturbation, and every segment's value (for histograms).</summary>
public sealed record DriftReport(IReadOnlyList<DriftSummary> PerPerturbation, DriftSummary Overall, IReadOnlyList<double> SegmentDrifts);

/// <summary>
/// Teacher-forced segment drift of held-out examples under each configured perturbation. Each (example,
/// perturbation) is perturbed the same way at every evaluation, so the numbers are comparable across a run.
/// </summary>
public static class DriftProbe
{
    public static DriftReport Measure(LlamaForCausalLM model, IReadOnlyList<EncodedExample> examples, RobustnessSpec spec,
        ITokenizer tokenizer, int maxSeqLen, long runSeed, int microBatch)
    {
        IReadOnlyList<PerturbationChoice> choices = PerturbationCatalog.Parse(spec.Perturb, "robustness.perturb");
        var texts = examples.Where(e => e.Example is not null).Take(spec.EvalExamples).Select(e => e.Example!).ToList();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var perPerturbation = new List<DriftSummary>();
            var all = new List<double>();
            for (int c = 0; c < choices.Count; c++)
            {
                var drifts = new List<double>();
                for (int start = 0; start < texts.Count; start += microBatch)
                {
                    using var scope = NewDisposeScope();
                    var pairs = new List<TeacherForcedPair>();
                    for (int i = start; i < Math.Min(texts.Count, start + microBatch); i++)
                    {
                        var random = new PerturbationRandom(Seeding.Derive(runSeed, "s2r2-eval", i, c));
                        pairs.Add(TeacherForcedPair.Build(texts[i], choices[c], ref random, tokenizer, maxSeqLen));
                    }
                    (Tensor clean, _) = BatchCollator.Collate(pairs.Select(p => p.Clean).ToList(), tokenizer.PadId, model.Device);
                    (Tensor perturbed, _) = BatchCollator.Collate(pairs.Select(p => p.Perturbed).ToList(), tokenizer.PadId, model.Device);
                    (Tensor drift, _, _) = SegmentDrift.Compute(model.forward(clean), model.forward(perturbed), pairs, spec.Divergence);
                    drifts.AddRange(drift.cpu().to(float64).data<double>().ToArray());
                }
                perPerturbation.Add(DriftSummary.Of(choices[c].Label, drifts, spec.HighDrift));
                all.AddRange(drifts);
            }
            return new DriftReport(perPerturbation, DriftSummary.Of("all", all, spec.HighDrift), all);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
