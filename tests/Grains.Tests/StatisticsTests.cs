using FlatLora.Spec.Reporting;
using FlatLora.Grains.Statistics;

namespace FlatLora.Grains.Tests;

public class StatisticsTests
{
    [Fact]
    public void Welch_t_test_matches_the_closed_form_for_two_degrees_of_freedom()
    {
        // n = 2 each with equal variances gives df = 2 exactly, where the t CDF is 1/2 + t / (2·√(2 + t²)).
        // a = [0, 2], b = [1, 3]: t = 1/√2, so p = 1 − 2·(t / (2·√2.5)) = 1 − 1/√5.
        WelchTTest.Result result = WelchTTest.Test([0, 2], [1, 3]);
        Assert.Equal(1 / Math.Sqrt(2), result.T, 12);
        Assert.Equal(2, result.DegreesOfFreedom, 12);
        Assert.Equal(1 - 1 / Math.Sqrt(5), result.P, 9);
    }

    [Fact]
    public void Welch_degrees_of_freedom_follow_welch_satterthwaite()
    {
        // a: mean 3, var 2.5; b: mean 6, var 10 (n 5 each): se² = 0.5 + 2, df = 2.5² / (0.5²/4 + 2²/4) = 5.882...
        WelchTTest.Result result = WelchTTest.Test([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]);
        Assert.Equal(3 / Math.Sqrt(2.5), result.T, 12);
        Assert.Equal(6.25 / 1.0625, result.DegreesOfFreedom, 12);
        Assert.InRange(result.P, 0.10, 0.115);
    }

    [Fact]
    public void Too_few_seeds_give_no_test_and_identical_arms_give_p_one()
    {
        Assert.True(double.IsNaN(WelchTTest.Test([1], [2, 3]).P));
        Assert.Equal(1, WelchTTest.Test([2, 2], [2, 2]).P);
        Assert.Equal(0, WelchTTest.Test([1, 1], [2, 2]).P);
    }

    [Fact]
    public void Aggregates_are_mean_and_sample_std_over_finite_values()
    {
        var runs = new[] { 0.2, 0.4, 0.9 }.Select(v => new RunMetrics { EvalExactMatch = v, EvalLoss = double.NaN }).ToList();
        var summary = MetricAggregator.Summarize(runs, ["eval_exact_match", "eval_loss"]);
        Assert.Equal(0.5, summary[0].Mean, 12);
        Assert.Equal(Math.Sqrt(((0.09) + (0.01) + (0.16)) / 2), summary[0].Std, 12);
        Assert.Equal(3, summary[0].Count);
        Assert.Equal(0, summary[1].Count);
        Assert.True(double.IsNaN(summary[1].Mean));
    }
}
