using System.Globalization;
using System.Text.RegularExpressions;

namespace FlatLora.Client.Bench;

/// <summary>A link rate in tc's syntax ("1gbit", "500mbit", "100kbit"), as bytes per second.</summary>
internal static partial class LinkRate
{
    public static double BytesPerSecond(string rate, string option)
    {
        Match match = Pattern().Match(rate);
        if (!match.Success)
            throw new ArgumentException($"{option}: '{rate}' is not a rate like 1gbit, 500mbit or 100kbit");
        double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double bits = match.Groups[2].Value.ToLowerInvariant() switch { "g" => 1e9, "m" => 1e6, _ => 1e3 };
        if (value <= 0)
            throw new ArgumentException($"{option}: the rate must be above 0 (got '{rate}')");
        return value * bits / 8;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)([gmk])bit$", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}
