using FlatLora.Abstractions.Sweeps;
using FlatLora.Grains.Sweeps;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Statistics;

/// <summary>Welch t-tests between a sweep's compared arms: every pair of configurations equal except for the compared field.</summary>
public static class SweepComparisons
{
    public static List<Comparison> Compare(CompareSpec? compare, IReadOnlyList<SweepConfigurationState> configurations,
        IReadOnlyDictionary<int, List<RunMetrics>> perSeed, IReadOnlyList<string> metrics)
    {
        var comparisons = new List<Comparison>();
        if (compare is null)
            return comparisons;
        string Rest(SweepConfigurationState c) => string.Join(", ", c.Overrides.Where(o => o.Key != compare.Field).Select(o => $"{o.Key}={o.Value}"));
        string? Arm(SweepConfigurationState c) => c.Overrides.FirstOrDefault(o => o.Key == compare.Field).Value;
        foreach (var group in configurations.GroupBy(Rest))
        {
            SweepConfigurationState? a = group.FirstOrDefault(c => Arm(c) == compare.A);
            SweepConfigurationState? b = group.FirstOrDefault(c => Arm(c) == compare.B);
            if (a is null || b is null)
                continue;
            foreach (string metric in metrics)
            {
                var valuesA = perSeed[a.Index].Select(m => m.Get(metric)).Where(double.IsFinite).ToList();
                var valuesB = perSeed[b.Index].Select(m => m.Get(metric)).Where(double.IsFinite).ToList();
                WelchTTest.Result test = WelchTTest.Test(valuesA, valuesB);
                comparisons.Add(new Comparison
                {
                    Metric = metric,
                    LabelA = a.Label,
                    LabelB = b.Label,
                    MeanA = valuesA.Count > 0 ? valuesA.Average() : double.NaN,
                    MeanB = valuesB.Count > 0 ? valuesB.Average() : double.NaN,
                    T = test.T,
                    DegreesOfFreedom = test.DegreesOfFreedom,
                    P = test.P,
                });
            }
        }
        return comparisons;
    }
}
