using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Rendering;

namespace FlatLora.Client.Tests;

public class FlatnessVerdictTests
{
    private static Comparison Test(double meanA, double meanB, double p) => new()
    {
        Metric = "sharpness@0.05", LabelA = "lora", LabelB = "flat", MeanA = meanA, MeanB = meanB, T = 1, DegreesOfFreedom = 4, P = p,
    };

    [Theory]
    [InlineData(0.011, 0.009, 0.01, "flat is flatter at p < 0.05.")]
    [InlineData(0.009, 0.011, 0.01, "lora is flatter at p < 0.05.")]
    [InlineData(0.011, 0.009, 0.23, "no significant difference in sharpness at p < 0.05; neither is shown flatter.")]
    [InlineData(0.011, 0.009, double.NaN, "not enough seeds to test.")]
    public void The_verdict_follows_the_test_whatever_it_says(double meanA, double meanB, double p, string ending)
    {
        string verdict = FlatnessVerdict.Describe(Test(meanA, meanB, p));
        Assert.StartsWith("sharpness@0.05: lora ", verdict);
        Assert.EndsWith(ending, verdict);
    }
}
