using MathNet.Numerics.Distributions;

namespace FlatLora.Trainer.Flatness;

/// <summary>Mean, sample standard deviation and the two-sided 95 % Student-t confidence interval of the mean.</summary>
public static class MeanInterval
{
    public static (double Mean, double StandardDeviation, double Low, double High) Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return (double.NaN, double.NaN, double.NaN, double.NaN);
        double mean = values.Average();
        if (values.Count == 1)
            return (mean, double.NaN, double.NaN, double.NaN);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        double sd = Math.Sqrt(variance);
        double half = StudentT.InvCDF(0, 1, values.Count - 1, 0.975) * sd / Math.Sqrt(values.Count);
        return (mean, sd, mean - half, mean + half);
    }
}
