using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Tests.Determinism;

public class CounterNormalTests
{
    [Fact]
    public void Vector_and_scalar_paths_give_identical_bits_at_any_offset()
    {
        // Without AVX2 both calls take the scalar path and the test checks only reproducibility.
        var stream = new CounterNormal(Key: -123456789, StreamA: 17, StreamB: 3);
        foreach (long start in new long[] { 0, 1, 3, 5, 1L << 33 })
        {
            var vector = new float[4099];
            var scalar = new float[4099];
            stream.Fill(vector, start, vectorized: true);
            stream.Fill(scalar, start, vectorized: false);
            for (int i = 0; i < vector.Length; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(scalar[i]), BitConverter.SingleToInt32Bits(vector[i]));
            Assert.Equal(stream.At(start + 4098), scalar[4098]);
        }
    }

    [Fact]
    public void Samples_are_standard_normal()
    {
        var stream = new CounterNormal(42, 0, 0);
        var values = new float[1 << 18];
        stream.Fill(values, 0);
        double n = values.Length;
        double mean = values.Average(v => (double)v);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / n;
        double skew = values.Sum(v => Math.Pow(v - mean, 3)) / n / Math.Pow(variance, 1.5);
        double kurtosis = values.Sum(v => Math.Pow(v - mean, 4)) / n / (variance * variance);
        Assert.InRange(mean, -0.01, 0.01);               // ±5 standard errors
        Assert.InRange(variance, 0.985, 1.015);
        Assert.InRange(skew, -0.03, 0.03);
        Assert.InRange(kurtosis, 2.95, 3.05);
        // Tails: P(|z| > 3) = 0.0027.
        double tail = values.Count(v => Math.Abs(v) > 3) / n;
        Assert.InRange(tail, 0.0020, 0.0034);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Streams_are_distinct_and_reproducible()
    {
        var a = new float[64];
        var again = new float[64];
        var otherStep = new float[64];
        var otherKey = new float[64];
        new CounterNormal(1, 2, 3).Fill(a, 0);
        new CounterNormal(1, 2, 3).Fill(again, 0);
        new CounterNormal(1, 2, 4).Fill(otherStep, 0);
        new CounterNormal(2, 2, 3).Fill(otherKey, 0);
        Assert.Equal(a, again);
        Assert.NotEqual(a, otherStep);
        Assert.NotEqual(a, otherKey);
    }
}
