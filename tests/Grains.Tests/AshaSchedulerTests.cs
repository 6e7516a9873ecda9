using FlatLora.Grains.Sweeps;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

public class AshaSchedulerTests
{
    [Fact]
    public void Trials_continue_only_within_the_best_share_at_each_rung()
    {
        var asha = new AshaScheduler(new AshaSpec { Metric = "eval_loss", Mode = "min", Rungs = [10, 20], Reduction = 2 });
        Assert.Null(asha.Report("a", 10, 0.5));        // first at the rung: keep ⌈1/2⌉ = 1, itself
        Assert.Equal(10, asha.Report("b", 10, 0.9));   // worse than a: ⌈2/2⌉ = 1 keeps only a
        Assert.Null(asha.Report("c", 12, 0.4));        // best so far at rung 10
        Assert.Null(asha.Report("a", 20, 0.3));        // next rung
        Assert.Null(asha.Report("a", 25, 0.1));        // already judged at both rungs
    }

    [Fact]
    public void A_report_past_several_rungs_is_judged_at_each_and_max_mode_prefers_high()
    {
        var asha = new AshaScheduler(new AshaSpec { Metric = "eval_exact_match", Mode = "max", Rungs = [5, 10], Reduction = 3 });
        Assert.Null(asha.Report("x", 5, 0.8));
        Assert.Null(asha.Report("y", 5, 0.9));
        Assert.Equal(5, asha.Report("z", 10, 0.1));    // at rung 5: ⌈3/3⌉ = 1 keeps only y
        Assert.Equal(2, asha.Records[5].Count(r => r.Value >= 0.8));
        Assert.Equal(5, asha.Report("n", 6, double.NaN));
    }
}
