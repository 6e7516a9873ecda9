using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Statistics;

/// <summary>Mean ± sample standard deviation of each metric over the seeds that completed.</summary>
public static class MetricAggregator
{
    public static IReadOnlyList<MetricSummary> Summarize(IEnumerable<RunMetrics> runs, IEnumerable<string> metrics)
    {
        var list = runs.ToList();
        return metrics.Select(metric =>
        {
            var values = list.Select(r => r.Get(metric)).Where(double.IsFinite).ToList();
            if (values.Count == 0)
                return new MetricSummary(metric, double.NaN, double.NaN, 0);
            (double mean, double variance) = WelchTTest.MeanVariance(values);
            return new MetricSummary(metric, mean, values.Count < 2 ? double.NaN : Math.Sqrt(variance), values.Count);
        }).ToList();
    }
}
