using System.Globalization;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Spec.Reporting;

namespace FlatLora.Client.Rendering;

/// <summary>
/// One sentence per sharpness@σ comparison of a sweep: which arm is flatter at p &lt; 0.05 (Welch, over seeds), or
/// that the seeds do not show a difference, whatever the answer is.
/// </summary>
public static class FlatnessVerdict
{
    public const double Alpha = 0.05;

    public static IEnumerable<string> Describe(SweepResults results) =>
        results.Comparisons.Where(c => FlatnessMetrics.Sigma(c.Metric) is not null).Select(Describe);

    public static string Describe(Comparison c)
    {
        string figures = string.Create(CultureInfo.InvariantCulture,
            $"{c.Metric}: {c.LabelA} {c.MeanA:G3} vs {c.LabelB} {c.MeanB:G3} (Welch p = {c.P:F3})");
        if (!double.IsFinite(c.P))
            return $"{figures}: not enough seeds to test.";
        if (c.P >= Alpha)
            return $"{figures}: no significant difference in sharpness at p < {Alpha.ToString(CultureInfo.InvariantCulture)}; neither is shown flatter.";
        string flatter = c.MeanA < c.MeanB ? c.LabelA : c.LabelB;
        return $"{figures}: {flatter} is flatter at p < {Alpha.ToString(CultureInfo.InvariantCulture)}.";
    }
}
