namespace FlatLora.Benchmarks.Cluster;

/// <summary>One window of a run: how many placements were granted in it, their p99, and how many missed 50 ms.</summary>
public sealed record PlacementWindow(double StartSeconds, int Samples, double P99Ms, int Over50Ms);

/// <summary>
/// Placements cut into fixed windows of the run, so a tail can be traced to when it happened (the submission burst,
/// a silo kill, a garbage collection) instead of guessed at from one whole-run figure.
/// </summary>
public static class PlacementTimeline
{
    public static IReadOnlyList<PlacementWindow> Of(IEnumerable<Placement> placements, DateTime startUtc, TimeSpan window)
    {
        if (window <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(window), "a window must be positive");
        return [.. placements
            .GroupBy(p => (int)Math.Floor(Math.Max(0, (p.GrantedUtc - startUtc).TotalSeconds) / window.TotalSeconds))
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                double[] sorted = [.. g.Select(p => p.Milliseconds).Order()];
                return new PlacementWindow(g.Key * window.TotalSeconds, sorted.Length, Quantiles.Of(sorted, 0.99), sorted.Count(ms => ms > 50));
            })];
    }
}

/// <summary>Nearest-rank quantiles of an ascending array (NaN when empty).</summary>
public static class Quantiles
{
    public static double Of(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
