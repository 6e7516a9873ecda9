namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// Weighted max-min fair shares of a pool of devices. Each project first gets its guarantee (as far as it wants
/// devices at all), then what is left is poured out by weight, no project getting more than it wants or its max; what
/// a satisfied project does not take flows to the others (water-filling). Shares are fractional: a project "deserves"
/// 2.5 devices when five are split between two equal projects.
/// </summary>
internal static class FairShare
{
    public readonly record struct Claim(double Weight, int Guaranteed, int? Max, int Demand);

    public static Dictionary<string, double> Compute(IReadOnlyDictionary<string, Claim> claims, int devices)
    {
        var share = new Dictionary<string, double>(StringComparer.Ordinal);
        double left = devices;
        // Guarantees first, in name order so an over-promised cluster (guarantees beyond its size) is split the same way every time.
        foreach ((string project, Claim c) in claims.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            double take = Math.Min(Math.Min(c.Guaranteed, Cap(c)), Math.Max(0, left));
            share[project] = take;
            left -= take;
        }
        for (int round = 0; round <= claims.Count && left > 1e-9; round++)
        {
            var hungry = claims.Where(c => share[c.Key] < Cap(c.Value) - 1e-9).ToList();
            if (hungry.Count == 0)
                break;
            double perWeight = left / hungry.Sum(c => c.Value.Weight);
            foreach ((string project, Claim c) in hungry)
            {
                double give = Math.Min(perWeight * c.Weight, Cap(c) - share[project]);
                share[project] += give;
                left -= give;
            }
        }
        return share;
    }

    private static double Cap(Claim c) => Math.Min(c.Demand, c.Max ?? int.MaxValue);
}
