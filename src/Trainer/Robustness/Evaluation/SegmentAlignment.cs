namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>How one clean segment fared under a perturbation.</summary>
public sealed record SegmentDriftResult(int Segment, string Text, double Drift, int BestMatch, bool Critical, IReadOnlyList<string> ChangedNumbers,
    IReadOnlyList<string> ChangedEntities)
{
    /// <summary>A critical segment whose number or entity is missing from the perturbed segment it maps to.</summary>
    public bool CriticalChange => ChangedNumbers.Count > 0 || ChangedEntities.Count > 0;
}

/// <summary>
/// Aligns the segments of a clean and a perturbed generation by entropic optimal transport over 1 − cosine of their
/// embeddings. Our choices: masses are uniform or proportional to segment length; a segment's drift is its row's
/// transport cost divided by its mass (the average distance its content travelled), so it reads on the cost's
/// scale, 0 (unchanged) to 2 (opposite). An empty perturbed generation gives every clean segment drift 1, the
/// distance to an orthogonal, unrelated text.
/// </summary>
public static class SegmentAlignment
{
    public static IReadOnlyList<SegmentDriftResult> Align(IReadOnlyList<TextUnit> clean, IReadOnlyList<float[]> cleanEmbeddings,
        IReadOnlyList<TextUnit> perturbed, IReadOnlyList<float[]> perturbedEmbeddings, double epsilon, string mass)
    {
        if (clean.Count == 0)
            return [];
        if (perturbed.Count == 0)
            return clean.Select(u => new SegmentDriftResult(u.Index, u.Text, 1, -1, u.IsCritical, u.Numbers, u.Entities)).ToList();
        double[,] cost = Sinkhorn.CosineCost(cleanEmbeddings, perturbedEmbeddings);
        double[] a = Masses(clean, mass), b = Masses(perturbed, mass);
        TransportPlan plan = Sinkhorn.Solve(cost, a, b, epsilon);
        double[] rowCosts = plan.RowCosts(cost);
        double totalA = a.Sum();
        return clean.Select((unit, i) =>
        {
            int best = plan.BestColumn(i);
            TextUnit match = perturbed[best];
            var numbers = unit.Numbers.Where(n => !match.Numbers.Contains(n)).ToList();
            var entities = unit.Entities.Where(e => !match.Entities.Contains(e)).ToList();
            return new SegmentDriftResult(unit.Index, unit.Text, rowCosts[i] / (a[i] / totalA), best, unit.IsCritical, numbers, entities);
        }).ToList();
    }

    private static double[] Masses(IReadOnlyList<TextUnit> units, string mass) => mass switch
    {
        "uniform" => units.Select(_ => 1.0).ToArray(),
        "length" => units.Select(u => (double)Math.Max(1, u.Text.Length)).ToArray(),
        _ => throw new ArgumentException($"--mass must be uniform or length (got '{mass}')"),
    };
}
