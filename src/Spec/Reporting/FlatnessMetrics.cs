using System.Globalization;

namespace FlatLora.Spec.Reporting;

/// <summary>Names of the expected-sharpness metrics: "sharpness@" and σ in invariant shortest form (sharpness@0.05).</summary>
public static class FlatnessMetrics
{
    public const string Prefix = "sharpness@";

    public static string Name(double sigma) => Prefix + sigma.ToString("R", CultureInfo.InvariantCulture);
}
