namespace FlatLora.Trainer.Flatness;

/// <summary>
/// Sharpness of model A minus model B at one σ, paired over the common noise samples (sample n is the same z for
/// both), with a 95 % Student-t interval of the mean difference. An interval that excludes 0 is a difference at
/// p &lt; 0.05 for these weights and data; it says nothing of other training seeds (the sweeps' Welch tests do).
/// </summary>
public sealed record FlatnessComparison(double Sigma, string A, string B, double MeanDifference, double Low, double High)
{
    public bool Significant => Low > 0 || High < 0;

    /// <summary>Every pair of models, at every σ both were probed at.</summary>
    public static IReadOnlyList<FlatnessComparison> AllPairs(IReadOnlyList<ModelFlatness> models)
    {
        var comparisons = new List<FlatnessComparison>();
        for (int a = 0; a < models.Count; a++)
        {
            for (int b = a + 1; b < models.Count; b++)
            {
                foreach (SharpnessEstimate x in models[a].Sharpness)
                {
                    SharpnessEstimate? y = models[b].Sharpness.FirstOrDefault(s => s.Sigma == x.Sigma);
                    if (y is null || y.Samples.Count != x.Samples.Count)
                        continue;
                    var differences = x.Samples.Zip(y.Samples, (p, q) => p - q).ToList();
                    (double mean, _, double low, double high) = MeanInterval.Of(differences);
                    comparisons.Add(new FlatnessComparison(x.Sigma, models[a].Label, models[b].Label, mean, low, high));
                }
            }
        }
        return comparisons;
    }
}
