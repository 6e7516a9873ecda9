using System.Globalization;

namespace FlatLora.Abstractions.Experiments;

/// <summary>A seed run grain's key: its experiment and seed, "{experiment}/{seed}".</summary>
public readonly record struct SeedRunKey(string ExperimentId, long Seed)
{
    /// <summary>Reads "{experiment}/{seed}"; the seed follows the last '/'.</summary>
    public static SeedRunKey Parse(string key)
    {
        int slash = key.LastIndexOf('/');
        if (slash <= 0 || !long.TryParse(key.AsSpan(slash + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seed))
            throw new FormatException($"'{key}' is not a seed run key of the form experiment/seed");
        return new SeedRunKey(key[..slash], seed);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ExperimentId}/{Seed}");
}
