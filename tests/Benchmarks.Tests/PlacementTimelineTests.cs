using FlatLora.Benchmarks.Cluster;

namespace FlatLora.Benchmarks.Tests;

public class PlacementTimelineTests
{
    [Fact]
    public void Placements_fall_into_the_window_of_their_grant_with_that_windows_own_tail()
    {
        var start = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);
        Placement[] placements =
        [
            new(start.AddSeconds(0.5), 120), new(start.AddSeconds(4.9), 1),   // window 0: the burst
            new(start.AddSeconds(5.0), 2), new(start.AddSeconds(9.0), 3),     // window 1: quiet
            new(start.AddSeconds(17), 60),                                     // window 3: a kill; window 2 had nothing
        ];

        IReadOnlyList<PlacementWindow> windows = PlacementTimeline.Of(placements, start, TimeSpan.FromSeconds(5));

        Assert.Equal([0.0, 5.0, 15.0], windows.Select(w => w.StartSeconds));
        Assert.Equal([2, 2, 1], windows.Select(w => w.Samples));
        Assert.Equal([120.0, 3.0, 60.0], windows.Select(w => w.P99Ms));
        Assert.Equal([1, 0, 1], windows.Select(w => w.Over50Ms));
    }

    [Fact]
    public void A_window_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PlacementTimeline.Of([], DateTime.UtcNow, TimeSpan.Zero));
    }

    [Fact]
    public void Nearest_rank_quantiles()
    {
        double[] sorted = [.. Enumerable.Range(1, 100).Select(i => (double)i)];
        Assert.Equal(50, Quantiles.Of(sorted, 0.5));
        Assert.Equal(99, Quantiles.Of(sorted, 0.99));
        Assert.Equal(100, Quantiles.Of(sorted, 1));
        Assert.True(double.IsNaN(Quantiles.Of([], 0.5)));
    }
}
