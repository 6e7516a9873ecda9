using System.Globalization;

namespace FlatLora.Spec.Reporting;

/// <summary>Names of the expected-sharpness metrics: "sharpness@" and σ in invariant shortest form (sharpness@0.05).</summary>
public static class FlatnessMetrics
{
    public const string Prefix = "sharpness@";

    public static string Name(double sigma) => Prefix + sigma.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>σ of a sharpness metric name, or null when <paramref name="metric"/> is not one.</summary>
    public static double? Sigma(string metric) =>
        metric.StartsWith(Prefix, StringComparison.Ordinal) && double.TryParse(metric.AsSpan(Prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double sigma)
            ? sigma : null;
}
