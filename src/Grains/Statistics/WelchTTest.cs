using MathNet.Numerics.Distributions;

namespace FlatLora.Grains.Statistics;

/// <summary>Welch's unequal-variance t-test, two-sided, of B − A.</summary>
public static class WelchTTest
{
    public readonly record struct Result(double T, double DegreesOfFreedom, double P);

    public static Result Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2)
            return new Result(double.NaN, double.NaN, double.NaN);
        (double meanA, double varA) = MeanVariance(a);
        (double meanB, double varB) = MeanVariance(b);
        double seA = varA / a.Count, seB = varB / b.Count;
        double se2 = seA + seB;
        if (se2 == 0)
            return meanA == meanB ? new Result(0, double.NaN, 1) : new Result(Math.Sign(meanB - meanA) * double.PositiveInfinity, double.NaN, 0);
        double t = (meanB - meanA) / Math.Sqrt(se2);
        double df = se2 * se2 / (seA * seA / (a.Count - 1) + seB * seB / (b.Count - 1));
        double p = 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t)));
        return new Result(t, df, Math.Clamp(p, 0, 1));
    }

    /// <summary>Mean and sample (n − 1) variance.</summary>
    public static (double Mean, double Variance) MeanVariance(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double variance = values.Count < 2 ? double.NaN : values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return (mean, variance);
    }
}
